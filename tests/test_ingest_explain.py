"""`aims ingest --explain`: a dry run that says what each column feeds and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mapper.cli import app


def test_explain_names_columns_left_out_and_unknown_values(tmp_path: Path) -> None:
    data = tmp_path / "inv.csv"
    data.write_text("Use Case ID,Use Case Name,Stage of Development,Favourite Colour\n"
                    "DOL-1,Chatbot,Deployed,blue\nDOL-2,OCR,Sideways,red\n"
                    "DOL-3,Triage,Sideways,red\n", encoding="utf-8")
    db = tmp_path / "store"
    out = CliRunner().invoke(app, ["ingest", str(data), "--explain", "--format", "json",
                                   "--store", str(db)])
    assert out.exit_code == 0, out.output
    (entry,) = json.loads(out.stdout)
    (table,) = entry["tables"]
    by_column = {c["column"]: c for c in table["columns"]}
    assert "system rdfs:label" in by_column["use_case_name"]["feeds"]
    assert by_column["use_case_name"]["samples"] == ["Chatbot", "OCR", "Triage"]
    assert table["left_out"] == ["Favourite Colour"]
    assert table["unknown_values"] == {"development_stage": {"Sideways": 2}}
    assert entry["records"] == 3
    assert not db.exists()  # nothing written, not even a store
    text = CliRunner().invoke(app, ["ingest", str(data), "--explain", "--store", str(db)])
    assert "dry run; nothing written" in text.stdout and "Favourite Colour" in text.stdout
    assert "'Sideways' x2" in text.stdout
