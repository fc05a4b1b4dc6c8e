"""The one neutralising CSV/TSV writer (mapper/tabular.py) and every place that writes CSV/TSV."""

from __future__ import annotations

import csv
import io
from datetime import date

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.sparql_worker import serialize_solutions
from mapper.cli.common import print_table
from mapper.report import findings_csv
from mapper.rules.results import Finding, Report
from mapper.tabular import TRIGGERS, csv_text, neutralise, tsv_text

FORMULA = "=cmd|' /C calc'!A0"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _dangerous(text: str) -> bool:
    return text.lstrip(" ")[:1] in TRIGGERS and text.lstrip(" ") != ""


@given(st.text())
def test_neutralised_text_is_never_run_and_only_ever_prefixed(text: str) -> None:
    out = neutralise(text)
    assert out in (text, "'" + text)
    if out == text and _dangerous(text):
        float(text)  # left alone only when the whole text is a number


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers())
def test_numbers_are_left_alone(number: float) -> None:
    assert neutralise(str(number)) == str(number)


@pytest.mark.parametrize("text", [FORMULA, "+1+1", "-2-3", "@SUM(A1)", "\t=1", " =1", "\r=1"])
def test_formulas_are_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_csv_and_tsv_documents() -> None:
    rows = [[FORMULA, -5, None], ["a\tb\nc", "ok", 1.5]]
    parsed = list(csv.reader(io.StringIO(csv_text(["x", "y", "z"], rows))))
    assert parsed == [["x", "y", "z"], ["'" + FORMULA, "-5", ""], ["a\tb\nc", "ok", "1.5"]]
    lines = tsv_text(["x", "y", "z"], rows).splitlines()
    assert lines == ["x\ty\tz", f"'{FORMULA}\t-5\t", "a\\tb\\nc\tok\t1.5"]


def test_sparql_results_check_the_text_not_the_datatype() -> None:
    typed = ox.Literal(FORMULA, datatype=ox.NamedNode(XSD + "integer"))
    number = ox.Literal("-5", datatype=ox.NamedNode(XSD + "integer"))
    tab = ox.Literal("a\tb\nc")
    rows = [[typed, number, tab]]
    csv_body = serialize_solutions(["x", "n", "t"], rows, "csv").decode()
    assert list(csv.reader(io.StringIO(csv_body)))[1] == ["'" + FORMULA, "-5", "a\tb\nc"]
    tsv_lines = serialize_solutions(["x", "n", "t"], rows, "tsv").decode().splitlines()
    assert len(tsv_lines) == 2
    assert tsv_lines[1].split("\t") == [f"\"'{FORMULA}\"^^<{XSD}integer>",
                                        f"\"-5\"^^<{XSD}integer>", '"a\\tb\\nc"']


def test_cli_table_csv_is_neutralised(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(["label", "n"], [[FORMULA, -1]], fmt="csv")
    assert capsys.readouterr().out.splitlines() == ["label,n", f"'{FORMULA},-1"]


def test_findings_csv_is_neutralised() -> None:
    finding = Finding("R-1", ["4.4"], "Violation", "urn:x", "@x", None, FORMULA, None, "m")
    row = list(csv.reader(io.StringIO(findings_csv(Report(date(2026, 6, 30), [finding])))))[1]
    assert "'@x" in row and "'" + FORMULA in row


def test_sparql_tsv_stays_valid_sparql_results() -> None:
    """Neutralising keeps TSV results readable as SPARQL TSV (pyoxigraph's parser)."""
    values = [ox.Literal('a"b\\c\td\nz', language="en"), ox.NamedNode("urn:x"), None,
              ox.Literal("5", datatype=ox.NamedNode(XSD + "integer"))]
    body = serialize_solutions(["a", "b", "c", "d"], [values], "tsv")
    [solution] = list(ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV))
    assert [solution[v] for v in "abcd"] == values
