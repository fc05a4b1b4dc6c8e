"""OSCAL: every NIST example parses with compliance-trestle; the exported assessment results
and POA&M load back into trestle with their fields; OSCAL catalogs become framework schemes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import SKOS, URIRef
from trestle.oscal.assessment_plan import AssessmentPlan
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.catalog import Catalog
from trestle.oscal.component import ComponentDefinition
from trestle.oscal.poam import PlanOfActionAndMilestones
from trestle.oscal.ssp import SystemSecurityPlan

from mapper.cli import main
from mapper.errors import InputError
from mapper.frameworks import oscal
from mapper.questions import queries
from mapper.rules.assessment import assess
from mapper.store import Store, open_store
from tests.fixtures.demo import demo_as_of, load_demo

EXAMPLES = Path("/work/shared/data/real/nist-oscal-examples")
SP800_53 = Path("/work/shared/data/frameworks/nist-sp800-53r5/oscal")
MODELS = {"catalog": Catalog, "component-definition": ComponentDefinition,
          "system-security-plan": SystemSecurityPlan, "assessment-plan": AssessmentPlan,
          "assessment-results": AssessmentResults,
          "plan-of-action-and-milestones": PlanOfActionAndMilestones}

needs_examples = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="NIST OSCAL examples absent")


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    st = open_store("memory")
    load_demo(st)
    yield st
    st.close()


@needs_examples
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_nist_example_parses_with_trestle(path: Path) -> None:
    [root] = json.loads(path.read_text(encoding="utf-8"))
    model = MODELS[root].oscal_read(path)
    assert model is not None and model.uuid and model.metadata.title


def test_assessment_results_round_trip(store: Store, tmp_path: Path) -> None:
    as_of = demo_as_of()
    verdict = assess(store, as_of=as_of)
    out = oscal.write(oscal.assessment_results(store, as_of=as_of), tmp_path / "ar.json")
    back = AssessmentResults.oscal_read(out)
    assert back is not None
    [result] = back.results
    assert result.start.date() == as_of and result.end is not None and result.end.date() == as_of
    assert len(result.findings or []) == len(verdict.findings) == 42
    titles = {f.title for f in result.findings or []}
    assert {f"{f.rule} {f.focus_label}" for f in verdict.findings} == titles
    soa = next(f for f in result.findings or [] if f.title.startswith("SOA-01"))
    assert soa.target.target_id == "clause-6.1.3" and soa.target.status is not None
    state = soa.target.status.state
    assert str(getattr(state, "value", state)) == "not-satisfied"
    observations = {o.uuid: o for o in result.observations or []}
    assert all(f.related_observations and f.related_observations[0].observation_uuid in
               observations for f in result.findings or [])
    # evidence: every aims:Evidence is a resource with its location and hash
    files = queries.result_dicts(queries.run(store, "evidence-files"))
    resources = {r.title: r for r in back.back_matter.resources} if back.back_matter else {}
    assert len(resources) == len({r["evidence"] for r in files}) == 47
    some = next(r for r in files if r["hash"])
    rlink = resources[some["label"]].rlinks[0]
    assert rlink.href == some["location"] and rlink.hashes[0].value == some["hash"]
    assert str(getattr(rlink.hashes[0].algorithm, "value", rlink.hashes[0].algorithm)) == "SHA-256"


def test_poam_round_trip(store: Store, tmp_path: Path) -> None:
    as_of = demo_as_of()
    out = oscal.write(oscal.poam(store, as_of=as_of), tmp_path / "poam.json")
    back = PlanOfActionAndMilestones.oscal_read(out)
    assert back is not None
    open_actions = [r for r in queries.result_dicts(queries.run(
        store, "report-corrective-actions", {"as_of": as_of})) if r["status"] == "open"]
    kinds = [next(p.value for p in i.props or [] if p.name == "kind") for i in back.poam_items]
    assert kinds.count("corrective-action") == len(open_actions) == 3
    assert kinds.count("open-finding") == 42
    overdue = next(i for i in back.poam_items if i.title.startswith("Retrain the fraud model"))
    props = {p.name: p.value for p in overdue.props or []}
    assert props["due-date"] == "2026-05-31" and props["owner"]
    risk = next(r for r in back.risks or [] if r.uuid == overdue.related_risks[0].risk_uuid)
    assert risk.deadline is not None and risk.deadline.date().isoformat() == "2026-05-31"
    parties = {p.uuid: p.name for p in back.metadata.parties or []}
    assert parties[overdue.origins[0].actors[0].actor_uuid] == props["owner"]


def test_export_is_reproducible(store: Store) -> None:
    one = oscal.assessment_results(store, as_of=demo_as_of()).results[0]
    two = oscal.assessment_results(store, as_of=demo_as_of()).results[0]
    assert [f.uuid for f in one.findings or []] == [f.uuid for f in two.findings or []]


@needs_examples
def test_catalog_becomes_a_scheme() -> None:
    graph, scheme = oscal.read_catalog(EXAMPLES / "basic-catalog.json")
    concepts = set(graph.subjects(SKOS.inScheme, URIRef(scheme)))
    assert concepts and all(graph.value(c, SKOS.prefLabel) for c in concepts)
    assert graph.value(URIRef(scheme), SKOS.prefLabel) is not None


@pytest.mark.skipif(not SP800_53.is_dir(), reason="SP 800-53 OSCAL absent")
def test_sp800_53_low_baseline_controls() -> None:
    path = SP800_53 / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
    graph, scheme = oscal.read_catalog(path)
    notations = {str(graph.value(c, SKOS.notation))
                 for c in graph.subjects(SKOS.inScheme, URIRef(scheme))}
    controls = {n for n in notations if "-" in n}
    assert len([n for n in controls if "." not in n]) == 131  # README: 131 controls
    assert len([n for n in controls if "." in n]) == 18  # and 18 enhancements


def test_bad_catalog_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"catalog": {"uuid": "not-a-uuid"}}', encoding="utf-8")
    assert oscal.is_catalog(bad)
    with pytest.raises(InputError, match="bad.json: not a valid OSCAL catalog") as info:
        oscal.read_catalog(bad)
    assert "\n" not in str(info.value)


@needs_examples
def test_cli_export_and_catalog_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = str(tmp_path / "store")
    st = open_store(folder)
    load_demo(st)
    st.close()

    def run(*args: str) -> int:
        monkeypatch.setattr(sys, "argv", ["aims", *args])
        try:
            main()
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    out = tmp_path / "ar.json"
    assert run("export", "--format", "oscal-assessment-results", "--as-of", "2026-06-30",
               "--out", str(out), "--store", folder) == 0
    assert "42 findings" in capsys.readouterr().out
    assert AssessmentResults.oscal_read(out) is not None
    assert run("export", "--format", "nope", "--out", str(out), "--store", folder) == 2
    assert run("ingest", str(EXAMPLES / "basic-catalog.json"), "--store", folder) == 0
    assert "as OSCAL catalog" in capsys.readouterr().err
    st = open_store(folder)
    assert any(g.startswith("urn:aims:graph:framework:") for g in st.graphs())
    st.close()
