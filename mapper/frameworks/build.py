"""Regenerate ontology/frameworks/ from the reference data (run by hand, output committed).

    python -m mapper.frameworks.build /path/to/shared/data/frameworks

Writes the SKOS concept schemes of NIST AI RMF 1.0 (`nist-ai-rmf.ttl`: 4 functions, 19
categories, 72 subcategories with their official outcome text) and of Regulation (EU)
2024/1689 (`eu-ai-act.ttl`: chapters, 113 articles, 13 annexes with their titles), and the two
SSSOM mapping sets taken from published or openly licensed sources
(`mappings/iso42001-nist-ai-rmf.sssom.tsv`, `mappings/iso42001-eu-ai-act-finos.sssom.tsv`),
written through sssom-py. The project's own curated mappings
(`mappings/aims-graph-curated.sssom.tsv`) are hand-written and not touched here.

Every input row must name an ISO/IEC 42001 concept of ontology/iso42001.ttl and a concept of
the target scheme; anything else stops the build with the file and row.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from rdflib import DCTERMS, RDF, SKOS, Graph, Literal, Namespace, URIRef

from mapper import resources
from mapper.errors import InputError

NIST = Namespace("https://aims-graph.org/nist-ai-rmf#")
EUAIA = Namespace("https://aims-graph.org/eu-ai-act#")
ISO = Namespace("https://aims-graph.org/iso42001#")
SEMAPV = "https://w3id.org/semapv/vocab/"

CURIE_MAP = {
    "ISO42001": str(ISO), "NISTAIRMF": str(NIST), "EUAIA": str(EUAIA),
    "skos": str(SKOS), "semapv": SEMAPV,
}

NIST_SOURCE = ("NIST AI 100-1, Artificial Intelligence Risk Management Framework (AI RMF 1.0), "
               "January 2023, Tables 1-4, https://doi.org/10.6028/NIST.AI.100-1")
EU_SOURCE = ("Regulation (EU) 2024/1689 (Artificial Intelligence Act), OJ L 2024/1689, "
             "12.7.2024, http://data.europa.eu/eli/reg/2024/1689/oj")
CROSSWALK = "https://airc.nist.gov/docs/NIST_AI_RMF_to_ISO_IEC_42001_Crosswalk.pdf"


def nist_local(identifier: str) -> str:
    """'GOVERN 1.1' -> 'GOVERN-1.1' (the local name of the concept IRI)."""
    return identifier.strip().replace(" ", "-")


def eu_local(kind: str, number: str) -> str:
    """('article', '9') -> 'Art.9'; ('annex', 'III') -> 'Annex.III'; chapters 'Chapter.III'."""
    return {"article": "Art.", "annex": "Annex.", "chapter": "Chapter."}[kind] + number


def _rows(path: Path, *, delimiter: str = ",") -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError(f"{path}: not found; pass the shared data/frameworks folder")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def nist_scheme(source: Path) -> Graph:
    """NIST AI RMF 1.0 as a SKOS concept scheme (official outcome text as skos:definition)."""
    g = Graph()
    g.bind("skos", SKOS)
    g.bind("dcterms", DCTERMS)
    g.bind("nist", NIST)
    scheme = NIST["AIRMF"]
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    g.add((scheme, SKOS.prefLabel, Literal("NIST AI RMF 1.0", lang="en")))
    g.add((scheme, DCTERMS.title, Literal(
        "Artificial Intelligence Risk Management Framework (AI RMF 1.0), Core")))
    g.add((scheme, DCTERMS.source, Literal(NIST_SOURCE)))
    g.add((scheme, DCTERMS.license, Literal(
        "U.S. Government work, not subject to copyright in the United States (17 U.S.C. 105)")))
    g.add((scheme, DCTERMS.description, Literal(
        "Functions, categories and subcategories of the AI RMF Core with their outcome "
        "statements as printed in NIST AI 100-1 (function rows: the first sentence of their "
        "Section 5.x, as NIST gives functions no one-line statement). Transcribed in "
        "shared/data/frameworks/nist-ai-rmf/nist_ai_rmf_1.0_core.csv.")))
    for row in _rows(source / "nist-ai-rmf" / "nist_ai_rmf_1.0_core.csv"):
        concept = NIST[nist_local(row["id"])]
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.inScheme, scheme))
        g.add((concept, SKOS.notation, Literal(row["id"])))
        g.add((concept, SKOS.prefLabel, Literal(row["id"], lang="en")))
        g.add((concept, SKOS.altLabel, Literal(row["short_id"], lang="en")))
        g.add((concept, SKOS.definition, Literal(row["text"], lang="en")))
        g.add((concept, DCTERMS.source, Literal(row["source"])))
        g.add((concept, NIST["level"], Literal(row["level"])))
        if row["parent_id"]:
            g.add((concept, SKOS.broader, NIST[nist_local(row["parent_id"])]))
        else:
            g.add((scheme, SKOS.hasTopConcept, concept))
    return g


def eu_scheme(source: Path) -> Graph:
    """Regulation (EU) 2024/1689 as a SKOS scheme: chapters, articles and annexes with titles."""
    g = Graph()
    g.bind("skos", SKOS)
    g.bind("dcterms", DCTERMS)
    g.bind("euaia", EUAIA)
    scheme = EUAIA["AIAct"]
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    g.add((scheme, SKOS.prefLabel, Literal("EU AI Act (Regulation (EU) 2024/1689)", lang="en")))
    g.add((scheme, DCTERMS.source, Literal(EU_SOURCE)))
    g.add((scheme, DCTERMS.license, Literal(
        "EU legal text; reuse authorised with the source acknowledged (Commission Decision "
        "2011/833/EU). Only the Official Journal edition is authentic.")))
    g.add((scheme, DCTERMS.description, Literal(
        "Articles and annexes with number and title as in the OJ HTML (EUR-Lex), with their "
        "chapters; no article text. Transcribed in shared/data/frameworks/eu-ai-act/.")))
    for row in _rows(source / "eu-ai-act" / "eu_ai_act_2024_1689_structure.csv"):
        concept = EUAIA[eu_local(row["kind"], row["number"])]
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.inScheme, scheme))
        notation = ("Art. " if row["kind"] == "article" else "Annex ") + row["number"]
        g.add((concept, SKOS.notation, Literal(notation)))
        g.add((concept, SKOS.prefLabel, Literal(f"{row['label'].title()} {row['title']}"
                                                if row["kind"] == "annex"
                                                else f"{row['label']} {row['title']}", lang="en")))
        g.add((concept, DCTERMS.title, Literal(row["title"], lang="en")))
        g.add((concept, DCTERMS.source, URIRef(row["url"])))
        if row["chapter"]:
            chapter = EUAIA[eu_local("chapter", row["chapter"])]
            g.add((chapter, RDF.type, SKOS.Concept))
            g.add((chapter, SKOS.inScheme, scheme))
            g.add((chapter, SKOS.notation, Literal(f"Chapter {row['chapter']}")))
            g.add((chapter, SKOS.prefLabel, Literal(
                f"Chapter {row['chapter']} {row['chapter_title'].capitalize()}", lang="en")))
            g.add((scheme, SKOS.hasTopConcept, chapter))
            g.add((concept, SKOS.broader, chapter))
        else:
            g.add((scheme, SKOS.hasTopConcept, concept))
    return g


def iso_curie(identifier: str, where: str, known: set[str]) -> str:
    """'ISO42001:6.1.2' -> 'ISO42001:clause-6.1.2'; 'ISO42001:A.6.2.6' stays; must exist."""
    local = identifier.removeprefix("ISO42001:")
    local = local if local.startswith("A.") else f"clause-{local}"
    if str(ISO[local]) not in known:
        raise InputError(f"{where}: {identifier} is not in ontology/iso42001.ttl")
    return f"ISO42001:{local}"


_VERIFIED = re.compile(r"verified_against=([^;]*)")


def nist_mappings(source: Path) -> list[dict[str, str]]:
    """ISO/IEC 42001 -> AI RMF rows of the NIST-hosted crosswalk (clauses as printed; Annex B
    items read as the Annex A control of the same number, as the derived table does)."""
    known = {str(c) for c in resources.ontology().subjects(RDF.type, SKOS.Concept)}
    out: dict[tuple[str, str], dict[str, str]] = {}
    original = source / "crosswalks" / "nist_ai_rmf_to_iso42001_fdis.tsv"
    for i, row in enumerate(_rows(original, delimiter="\t"), start=2):
        if row["object_id"].startswith("ISO42001:B."):
            continue  # taken from the derived table below, as Annex A
        where = f"{original.name} row {i}"
        subject = iso_curie(row["object_id"], where, known)
        obj = "NISTAIRMF:" + nist_local(row["subject_id"])
        verified = _VERIFIED.search(row["note"])
        out[(subject, obj)] = {
            "subject_id": subject, "predicate_id": "skos:relatedMatch", "object_id": obj,
            "mapping_justification": "semapv:ManualMappingCuration",
            "author_label": "Microsoft (crosswalk listed by NIST AIRC)",
            "mapping_source": CROSSWALK,
            "comment": ("Crosswalk pair (the source says only that the two relate). "
                        + (f"Transcription checked: {verified.group(1)}." if verified else "")
                        + (f" {row['note'][row['note'].index('FLAG'):]}"
                           if "FLAG" in row["note"] else "")).strip(),
        }
    derived = source / "crosswalks" / "derived_iso42001_annexA_to_nist_ai_rmf.tsv"
    for i, row in enumerate(_rows(derived, delimiter="\t"), start=2):
        where = f"{derived.name} row {i}"
        subject = iso_curie(row["subject_id"], where, known)
        obj = "NISTAIRMF:" + nist_local(row["object_id"].removeprefix("NIST-AI-RMF:"))
        out[(subject, obj)] = {
            "subject_id": subject, "predicate_id": "skos:relatedMatch", "object_id": obj,
            "mapping_justification": "semapv:ManualMappingCuration",
            "author_label": "Microsoft (crosswalk listed by NIST AIRC)",
            "mapping_source": CROSSWALK,
            "comment": ("Crosswalk pair printed against FDIS Annex B "
                        f"{row['subject_id'].replace('ISO42001:A.', 'B.')}, read as the Annex A "
                        "control of the same number (numbering equivalence assumed)."),
        }
    return [out[k] for k in sorted(out)]


def eu_mappings(source: Path) -> list[dict[str, str]]:
    """ISO/IEC 42001 Annex A -> EU AI Act article co-references through the FINOS AI
    Governance Framework (CC-BY-4.0): derived, not a mapping anyone wrote."""
    known = {str(c) for c in resources.ontology().subjects(RDF.type, SKOS.Concept)}
    path = source / "mappings-open" / "derived_iso42001_annexA_to_eu_ai_act_via_finos.tsv"
    out = []
    for i, row in enumerate(_rows(path, delimiter="\t"), start=2):
        where = f"{path.name} row {i}"
        subject = iso_curie(row["subject_id"], where, known)
        article = row["object_id"].removeprefix("EUAIA:")
        if not re.fullmatch(r"Art\.\d+", article):
            raise InputError(f"{where}: {row['object_id']} is not an EU AI Act article")
        via = re.search(r"FINOS-AIGF:\S+", row["note"])
        out.append({
            "subject_id": subject, "predicate_id": "skos:relatedMatch",
            "object_id": f"EUAIA:{article}",
            "mapping_justification": "semapv:MappingChaining",
            "author_label": "FINOS AI Governance Framework contributors (CC-BY-4.0)",
            "mapping_source": "https://github.com/finos/ai-governance-framework/tree/"
                              "78e0aedddfd1775419ce4e859e9367b3f488c4ae",
            "comment": ("Co-reference, not an authored mapping: both are referenced by "
                        f"{via.group() if via else 'the same FINOS item'}."),
        })
    return sorted(out, key=lambda r: (r["subject_id"], r["object_id"]))


def write_mapping_set(rows: list[dict[str, str]], out: Path,
                      metadata: Mapping[str, object]) -> None:
    """One SSSOM TSV with embedded YAML metadata, written through sssom-py."""
    import pandas as pd
    from curies import Converter
    from sssom.util import MappingSetDataFrame
    from sssom.writers import write_table

    prefixes = {k: v for k, v in CURIE_MAP.items()}
    msdf = MappingSetDataFrame(df=pd.DataFrame(rows), converter=Converter.from_prefix_map(
        prefixes), metadata=dict(metadata))
    with out.open("w", encoding="utf-8") as handle:
        write_table(msdf, handle)


def build(source: Path, target: Path) -> list[Path]:
    """Write the schemes and the sourced mapping sets into target (ontology/frameworks)."""
    (target / "mappings").mkdir(parents=True, exist_ok=True)
    written = []
    for name, graph in (("nist-ai-rmf.ttl", nist_scheme(source)),
                        ("eu-ai-act.ttl", eu_scheme(source))):
        path = target / name
        path.write_text(
            "# Generated by `python -m mapper.frameworks.build` from shared/data/frameworks "
            "(see its README for sources, licences and verification). Do not edit.\n"
            + graph.serialize(format="longturtle"), encoding="utf-8")
        written.append(path)
    sets: tuple[tuple[str, list[dict[str, str]], dict[str, object]], ...] = (
        ("iso42001-nist-ai-rmf.sssom.tsv", nist_mappings(source), {
            "mapping_set_id": "https://aims-graph.org/mappings/iso42001-nist-ai-rmf",
            "mapping_set_title": "ISO/IEC 42001 to NIST AI RMF 1.0 (NIST-hosted crosswalk)",
            "mapping_set_description": (
                "The pairs of the NIST AI RMF to ISO/IEC FDIS 42001 crosswalk (provider: "
                "Microsoft; hosted by NIST AIRC), as id pairs only, turned round to read ISO -> "
                "AI RMF. The source states only that items relate, so every mapping is "
                "skos:relatedMatch. Transcription: CloudSecurityAlliance-DataSets/"
                "dataset-public-laws-regulations-standards@7d418867 (CC0)."),
            "mapping_set_source": [CROSSWALK],
            "license": "https://creativecommons.org/publicdomain/zero/1.0/",
            "creator_label": ["AIMS Graph (conversion only)"],
            "subject_source": "https://aims-graph.org/iso42001",
            "object_source": "https://doi.org/10.6028/NIST.AI.100-1",
        }),
        ("iso42001-eu-ai-act-finos.sssom.tsv", eu_mappings(source), {
            "mapping_set_id": "https://aims-graph.org/mappings/iso42001-eu-ai-act-finos",
            "mapping_set_title": "ISO/IEC 42001 Annex A to EU AI Act articles via FINOS AIGF",
            "mapping_set_description": (
                "Derived co-references: an Annex A control and an EU AI Act article are paired "
                "when the same FINOS AI Governance Framework risk or mitigation cites both "
                "(finos/ai-governance-framework@78e0aedd, CC-BY-4.0: attribute 'FINOS AI "
                "Governance Framework'). Nobody authored these as mappings; relatedMatch only."),
            "mapping_set_source": ["https://github.com/finos/ai-governance-framework"],
            "license": "https://creativecommons.org/licenses/by/4.0/",
            "creator_label": ["AIMS Graph (derivation)"],
            "subject_source": "https://aims-graph.org/iso42001",
            "object_source": "http://data.europa.eu/eli/reg/2024/1689/oj",
        }),
    )
    for name, rows, metadata in sets:
        path = target / "mappings" / name
        write_mapping_set(rows, path, metadata)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m mapper.frameworks.build SHARED/data/frameworks\n")
        return 2
    target = resources.data_dir("ontology") / "frameworks"
    for path in build(Path(argv[0]), target):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
