"""CLI tables that fit 80-100 columns and never cut an identifier; `aims batches` hashes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapper.cli import app
from mapper.cli.common import print_table
from mapper.rules import catalogue
from tests.fixtures.demo import DEMO_DIR

IDS = ["SYS-LEGACY-CLAIMS-SCORE", "https://meridian.example/aims/sys-broker-email-classifier",
       "SYS-CLAIMS-TRIAGE"]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


@pytest.mark.parametrize("width", [80, 100])
def test_tables_fit_and_keep_identifiers_whole(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch,
                                               width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    rows = [[i, "a long description " * 6, "Violation"] for i in IDS]
    print_table(["system", "description", "severity"], rows, title="T")
    out = capsys.readouterr().out
    assert all(len(line) <= width for line in _lines(out)), out
    for identifier in IDS:
        assert any(identifier in line for line in _lines(out)), (identifier, out)
    assert "a long description" in out


def test_a_table_that_cannot_fit_becomes_blocks(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    print_table(["a", "b", "c"], [[IDS[1], IDS[1], IDS[0]]])
    out = capsys.readouterr().out
    assert f"a: {IDS[1]}" in out and f"c: {IDS[0]}" in out
    assert all(len(line) <= 80 for line in _lines(out))


def test_rules_read_in_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["rules"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert all(len(line) <= 80 for line in lines)
    starts = {line.split()[0] for line in lines if line.strip()}
    for rule in catalogue.rules():
        assert rule.id in starts, rule.id  # each rule id whole, at the start of its row


def test_batches_show_the_short_hash_of_each_source(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    store = str(tmp_path / "store")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(DEMO_DIR / "systems.ttl"), "--store", store]
                         ).exit_code == 0
    result = runner.invoke(app, ["batches", "--store", store])
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256((DEMO_DIR / "systems.ttl").read_bytes()).hexdigest()
    assert re.search(rf"systems\.ttl\s+{digest[:12]}\s+current", result.output), result.output
    assert all(len(line) <= 100 for line in _lines(result.output))
    csv = runner.invoke(app, ["batches", "--store", store, "--format", "csv"]).output
    assert digest in csv
