"""Crosswalks: the NIST AI RMF and EU AI Act schemes, the SSSOM mapping sets (read with
sssom-py), their load into the store as typed edges, and `aims gaps --framework`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import DCTERMS, RDF, SKOS, Graph, URIRef

from mapper.cli import main
from mapper.errors import InputError, NotFound
from mapper.frameworks import build, crosswalk
from mapper.store import Store, open_store
from tests.fixtures.demo import demo_as_of, load_demo

SHARED = Path("/work/shared/data/frameworks")
MAPPINGS = crosswalk.folder() / "mappings"


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    st = open_store("memory")
    load_demo(st)
    crosswalk.load(st)
    yield st
    st.close()


def _scheme(name: str) -> Graph:
    return Graph().parse(crosswalk.folder() / name, format="turtle")


def test_nist_scheme_has_the_core_with_official_text() -> None:
    g = _scheme("nist-ai-rmf.ttl")
    levels = [str(o) for o in g.objects(None, crosswalk.NIST["level"])]
    assert (levels.count("function"), levels.count("category"),
            levels.count("subcategory")) == (4, 19, 72)
    gv11 = crosswalk.NIST["GOVERN-1.1"]
    assert str(g.value(gv11, SKOS.definition)) == (
        "Legal and regulatory requirements involving AI are understood, managed, and documented.")
    assert g.value(gv11, SKOS.broader) == crosswalk.NIST["GOVERN-1"]
    assert "NIST AI 100-1" in str(g.value(crosswalk.NIST["AIRMF"], DCTERMS.source))


def test_eu_scheme_has_articles_and_annexes_with_titles() -> None:
    g = _scheme("eu-ai-act.ttl")
    notations = [str(n) for n in g.objects(None, SKOS.notation)]
    assert sum(n.startswith("Art. ") for n in notations) == 113
    assert sum(n.startswith("Annex ") for n in notations) == 13
    art9 = crosswalk.EUAIA["Art.9"]
    assert str(g.value(art9, DCTERMS.title)) == "Risk management system"
    assert g.value(art9, SKOS.broader) == crosswalk.EUAIA["Chapter.III"]
    assert "2024/1689" in str(g.value(crosswalk.EUAIA["AIAct"], DCTERMS.source))


def test_mapping_sets_read_with_sssom_py() -> None:
    from sssom.parsers import parse_sssom_table

    sets = {p.name: parse_sssom_table(str(p)) for p in sorted(MAPPINGS.glob("*.sssom.tsv"))}
    assert {k: len(v.df) for k, v in sets.items()} == {
        "aims-graph-curated.sssom.tsv": 23, "iso42001-eu-ai-act-finos.sssom.tsv": 29,
        "iso42001-nist-ai-rmf.sssom.tsv": 280}
    nist = sets["iso42001-nist-ai-rmf.sssom.tsv"].df
    assert set(nist["predicate_id"]) == {"skos:relatedMatch"}  # the source says only "relate"
    assert set(nist["mapping_source"]) == {build.CROSSWALK}
    curated = sets["aims-graph-curated.sssom.tsv"]
    assert "own curation" in str(curated.metadata["creator_label"])
    assert set(curated.df["mapping_justification"]) == {"semapv:ManualMappingCuration"}
    assert set(curated.df["predicate_id"]) >= {"skos:closeMatch", "skos:broadMatch",
                                               "skos:narrowMatch", "skos:relatedMatch"}
    assert curated.df["comment"].str.len().min() > 40  # every curated row says why
    finos = sets["iso42001-eu-ai-act-finos.sssom.tsv"]
    assert set(finos.df["mapping_justification"]) == {"semapv:MappingChaining"}
    assert "CC-BY-4.0" in finos.metadata["mapping_set_description"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared reference data is not here")
def test_build_reproduces_the_committed_files(tmp_path: Path) -> None:
    written = build.build(SHARED, tmp_path)
    for path in written:
        committed = crosswalk.folder() / path.relative_to(tmp_path)
        assert path.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), path


def test_mappings_are_edges_and_axioms_in_the_store(store: Store) -> None:
    assert store.query("""PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        ASK { <https://aims-graph.org/iso42001#A.6.2.8> skos:closeMatch
              <https://aims-graph.org/eu-ai-act#Art.12> }""").boolean  # type: ignore[attr-defined]
    rows = {(r["set_title"], r["scheme"].rsplit("#", 1)[-1], r["predicate"].rsplit("#", 1)[-1]):
            int(r["mappings"]) for r in crosswalk.counts(store)}
    assert rows[("ISO/IEC 42001 to NIST AI RMF 1.0 (NIST-hosted crosswalk)", "AIRMF",
                 "relatedMatch")] == 280
    assert sum(rows.values()) == 332


def test_nist_coverage_of_the_demo(store: Store) -> None:
    cov = crosswalk.coverage(store, "nist-ai-rmf", as_of=demo_as_of())
    assert cov.counts == {"requirements": 72, "covered": 6, "partly covered": 1,
                          "informed": 54, "gap": 11, "not mapped": 0}
    by_id = {r.notation: r for r in cov.requirements}
    roles = by_id["GOVERN 2.1"]
    assert roles.status == "covered"
    assert roles.mappings[0].predicate == "closeMatch" and roles.mappings[0].iso_notation == (
        "A.3.2")
    # only relatedMatch mappings: informs, never covers
    assert by_id["GOVERN 1.1"].status == "informed"
    assert all(m.predicate == "relatedMatch" for m in by_id["GOVERN 1.1"].mappings)
    # a requirement mapped only to failing concepts is a gap, and names the findings
    gap = by_id["GOVERN 1.3"]
    assert gap.status == "gap" and {"SOA-01", "GATE-03"} <= {f["rule"] for f in gap.findings}
    assert cov.has_gaps


def test_eu_coverage_and_requirements_of_a_finding(store: Store) -> None:
    cov = crosswalk.coverage(store, "eu-ai-act", as_of=demo_as_of())
    by_id = {r.notation: r for r in cov.requirements}
    assert by_id["Art. 12"].status == "covered"  # A.6.2.8 closeMatch, implemented
    assert by_id["Art. 4"].status == "gap"  # 7.2 narrowMatch; MAINT-03 fails clause 7.2
    assert by_id["Art. 5"].status == "not mapped"
    mapped = crosswalk.requirements_of(store, ["A.6.2.8"])
    assert {"framework": "eu-ai-act", "requirement": "Art. 12", "iso": "A.6.2.8",
            "predicate": "skos:closeMatch"} in mapped


def test_coverage_needs_loaded_mappings() -> None:
    empty = open_store("memory")
    with pytest.raises(NotFound, match="aims frameworks load"):
        crosswalk.coverage(empty, "nist-ai-rmf", as_of=demo_as_of())
    with pytest.raises(NotFound, match="nist-ai-rmf, eu-ai-act"):
        crosswalk.framework("iso-27001")


HEADER = """# curie_map:
#   ISO42001: https://aims-graph.org/iso42001#
#   EUAIA: https://aims-graph.org/eu-ai-act#
#   skos: http://www.w3.org/2004/02/skos/core#
#   owl: http://www.w3.org/2002/07/owl#
#   semapv: https://w3id.org/semapv/vocab/
# mapping_set_id: https://example.org/bad
# license: https://creativecommons.org/publicdomain/zero/1.0/
subject_id\tpredicate_id\tobject_id\tmapping_justification
"""


@pytest.mark.parametrize(("row", "message"), [
    ("ISO42001:A.6.2.8\towl:sameAs\tEUAIA:Art.12\tsemapv:ManualMappingCuration",
     "not a SKOS mapping type"),
    ("ISO42001:A.6.2.8\tskos:closeMatch\tEUAIA:Art.999\tsemapv:ManualMappingCuration",
     "object_id EUAIA:Art.999 is in no loaded scheme"),
    ("ISO42001:A.6.2.8\tskos:closeMatch\tNOPE:x\tsemapv:ManualMappingCuration",
     "prefix missing from the curie_map"),
])
def test_bad_mapping_rows_name_file_and_row(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "bad.sssom.tsv"
    path.write_text(HEADER + row + "\n", encoding="utf-8")
    graph, _ = crosswalk.framework_graph()
    concepts = {c for c in graph.subjects(RDF.type, SKOS.Concept) if isinstance(c, URIRef)}
    concepts.add(URIRef("https://aims-graph.org/iso42001#A.6.2.8"))
    with pytest.raises(InputError, match=message) as info:
        crosswalk._mapping_graph(path, concepts)
    assert "bad.sssom.tsv row 2" in str(info.value)


def test_cli_gaps_framework(tmp_path: Path, capsys: pytest.CaptureFixture[str],
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

    code, _ = run("gaps", "--framework", "nist-ai-rmf", "--store", folder)
    assert code == 2  # not loaded yet: one line naming the fix
    code, out = run("frameworks", "load", "--store", folder, "--format", "json")
    assert code == 0 and json.loads(out)["iso42001-nist-ai-rmf.sssom.tsv"] == 280
    code, out = run("gaps", "--framework", "eu-ai-act", "--store", folder, "--as-of",
                    "2026-06-30", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["counts"]["requirements"] == 126
    art12 = next(r for r in data["requirements"] if r["requirement"] == "Art. 12")
    assert art12["mappings"][0]["predicate"] == "skos:closeMatch"
    assert art12["mappings"][0]["effect"] == "covered"
    code, out = run("frameworks", "list", "--store", folder, "--format", "json")
    assert sum(r["mappings"] for r in json.loads(out)) == 332
    code, out = run("gaps", "--help")
    assert "Example: aims gaps --framework nist-ai-rmf" in " ".join(out.split())
