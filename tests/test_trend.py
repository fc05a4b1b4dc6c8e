"""Compliance over time (`aims trend`, `aims diff`) and audit samples (`aims sample`,
`aims report --sample`) on the demo organisation."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

from mapper.cli import main
from mapper.errors import InputError
from mapper.frameworks import sample, trend
from mapper.rules.validate import validate
from mapper.store import Store, open_store
from tests.fixtures.demo import demo_as_of, demo_store, load_demo  # noqa: F401 (fixture)


def test_dates() -> None:
    assert trend.dates(date(2026, 1, 31), date(2026, 4, 30), "month") == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert trend.dates(date(2025, 6, 30), date(2026, 6, 30), "quarter")[-1] == date(2026, 6, 30)
    with pytest.raises(InputError, match="--every 'week'"):
        trend.dates(date(2026, 1, 1), date(2026, 2, 1), "week")
    with pytest.raises(InputError, match="before --from"):
        trend.dates(date(2026, 2, 1), date(2026, 1, 1), "month")


def test_trend_counts_are_the_findings_of_each_date(demo_store: Store) -> None:  # noqa: F811
    points = trend.trend(demo_store, start=date(2025, 12, 31), end=date(2026, 6, 30),
                         every="quarter")
    assert [p.as_of for p in points] == [date(2025, 12, 31), date(2026, 3, 31),
                                         date(2026, 6, 30)]
    last = points[-1]
    report = validate(demo_store, as_of=demo_as_of(), engine="pyshacl")
    assert last.findings == len(report.findings) == 42
    assert last.by_family["SOA"] == 5 and sum(last.by_family.values()) == 42
    assert last.by_severity == {"Violation": 35, "Warning": 7}
    # before the SoA was decided (2026-01-14) there is one SOA finding, on the organisation
    assert points[0].by_family["SOA"] == 1
    # corrective actions: 8 in the demo, each opened once in some period
    assert sum(p.actions["opened"] for p in points) == 8
    assert last.actions["open_at_date"] == 3
    assert all(p.actions["verified"] <= p.actions["closed"] for p in points)


def test_diff(demo_store: Store) -> None:  # noqa: F811
    d = trend.diff(demo_store, as_of=date(2026, 6, 30), against=date(2025, 12, 31))
    assert len(d.opened) + len(d.unchanged) == 42
    opened = {(f.rule, f.focus) for f in d.opened}
    assert ("SOA-04", "https://meridian.example/aims/soa-a-2-2") in opened
    closed = {(f.rule, f.focus) for f in d.closed}
    assert ("SOA-01", "https://meridian.example/aims/org-meridian") in closed
    same = trend.diff(demo_store, as_of=date(2026, 6, 30), against=date(2026, 6, 30))
    assert not same.opened and not same.closed and len(same.unchanged) == 42


def test_sample_is_reproducible_and_risk_weighted(demo_store: Store) -> None:  # noqa: F811
    one = sample.draw(demo_store, as_of=demo_as_of(), n=5, seed=7)
    two = sample.draw(demo_store, as_of=demo_as_of(), n=5, seed=7)
    assert one.chosen == two.chosen and len(one.chosen) == 5 and one.population == 13
    assert "Efraimidis-Spirakis" in one.method and "random.Random(7)" in one.method
    other = sample.draw(demo_store, as_of=demo_as_of(), n=5, seed=8)
    assert [c["system"] for c in other.chosen] != [c["system"] for c in one.chosen]
    weights = {c["identifier"]: c["weight"] for c in sample.draw(
        demo_store, as_of=demo_as_of(), n=99).chosen}
    assert len(weights) == 13  # n above the population takes everyone
    assert weights["SYS-FRAUD-DETECT"] == 4  # high-risk, and its release gate fails
    assert weights["SYS-CLAIMS-TRIAGE"] == 3  # high-risk, gates pass
    flat = sample.draw(demo_store, as_of=demo_as_of(), n=99, weight="none").chosen
    assert {c["weight"] for c in flat} == {1}
    # risk weighting favours the heavy systems over many seeds
    heavy = sum(any(c["weight"] >= 3 for c in sample.draw(
        demo_store, as_of=demo_as_of(), n=1, seed=s).chosen) for s in range(200))
    share = sum(1 for w in weights.values() if w >= 3) / len(weights)
    assert heavy / 200 > share + 0.1
    with pytest.raises(InputError, match="--weight"):
        sample.draw(demo_store, as_of=demo_as_of(), weight="size")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = str(tmp_path / "store")
    st = open_store(folder)
    load_demo(st)
    st.close()

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["aims", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().out

    code, out = run("trend", "--from", "2026-04-30", "--to", "2026-06-30", "--store", folder,
                    "--format", "json")
    assert code == 0 and [p["findings"] for p in json.loads(out)][-1] == 42
    code, out = run("trend", "--from", "2026-04-30", "--to", "2026-06-30", "--store", folder,
                    "--format", "csv")
    assert out.splitlines()[0] == ",".join(trend.TREND_COLUMNS)
    code, out = run("diff", "--as-of", "2026-06-30", "--against", "2026-03-31", "--store",
                    folder, "--format", "json")
    assert code == 0 and json.loads(out)["counts"]["unchanged"] > 0
    code, out = run("sample", "--n", "3", "--seed", "1", "--as-of", "2026-06-30", "--store",
                    folder, "--format", "json")
    chosen = json.loads(out)["systems"]
    assert len(chosen) == 3
    pack = tmp_path / "pack"
    code, out = run("report", "--out", str(pack), "--as-of", "2026-06-30", "--sample", "3",
                    "--seed", "1", "--store", folder)
    html = (pack / "index.html").read_text(encoding="utf-8")
    assert code == 0 and "Internal-audit walkthrough" in html
    assert all(c["label"] in html for c in chosen)
    assert "Findings at each quarter" in html
    for command in ("trend", "diff", "sample"):
        code, out = run(command, "--help")
        assert code == 0 and f"Example: aims {command}" in out
