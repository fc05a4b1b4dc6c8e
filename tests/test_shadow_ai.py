"""Shadow-AI intake: a procurement export ingests with the built-in mapping `procurement-list`,
SHADOW-01 matches its lines against the AI product list (ontology/ai-products.ttl) and the
inventory, and each candidate is an owner task for the person who requested the purchase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from rdflib import RDF, RDFS, URIRef

from mapper import resources
from mapper.ingest import ingest
from mapper.rules.assessment import assess
from mapper.runs import tasks as owner_tasks
from mapper.store import open_store
from mapper.vocab import AIMS

AIMS_BIN = Path(sys.executable).with_name("aims")
AS_OF = date(2026, 6, 30)
ID = "https://aims-graph.org/id/"

# An expense export as a finance system writes it: its own header spellings (aliases of the
# mapping), a vendor's legal name, a plan in the product column, a line without a vendor.
EXPORT = """\
Invoice Number,Supplier,Item Description,Cost Center,Requested By,Invoice Date,Total,Currency
INV-101,"OpenAI, L.L.C.",ChatGPT Team (annual),Marketing,Dana Reyes,03/02/2026,6000,EUR
INV-102,Adobe Inc.,Acrobat Pro,Finance,Sam Ito,04/02/2026,300,EUR
INV-103,Grammarly Inc.,Grammarly Business,Legal,Lee Park,05/02/2026,1200,EUR
INV-104,,Team lunch,Facilities,Sam Ito,05/02/2026,80,EUR
"""

# The inventory already holds Grammarly: a system with an intake record, named by its vendor.
INVENTORY = """\
@prefix aims: <https://aims-graph.org/ns#> .
@prefix ex:   <https://example.org/shadow/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
ex:writing a aims:ThirdPartyAISystem ; rdfs:label "Writing assistant" ;
    aims:vendorName "Grammarly" .
ex:intake a aims:IntakeRecord ; rdfs:label "Intake of the writing assistant" ;
    aims:concernsSystem ex:writing ; aims:recordDate "2025-03-01"^^xsd:date .
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    export = tmp_path / "expenses.csv"
    export.write_text(EXPORT, encoding="utf-8")
    inventory = tmp_path / "inventory.ttl"
    inventory.write_text(INVENTORY, encoding="utf-8")
    return export, inventory


def test_the_export_ingests_as_purchase_records(tmp_path: Path) -> None:
    export, _ = _files(tmp_path)
    store = open_store("memory")
    [result] = ingest(store, export)  # no --mapping: the header picks procurement-list
    assert result.mapping == "procurement-list"
    assert any("no vendor named" in w for w in result.warnings), result.warnings
    graph = store.to_graph()
    purchases = set(graph.subjects(RDF.type, AIMS.PurchaseRecord))
    assert purchases == {URIRef(ID + f"purchase/inv-{n}") for n in (101, 102, 103)}
    chatgpt = URIRef(ID + "purchase/inv-101")
    assert {str(v) for v in graph.objects(chatgpt, AIMS.vendorName)} == {
        "OpenAI, L.L.C.", "ChatGPT Team (annual)"}
    dana = graph.value(chatgpt, AIMS.owner)
    assert (dana, RDF.type, AIMS.Person) in graph
    assert str(graph.value(dana, RDFS.label)) == "Dana Reyes"
    assert str(graph.value(chatgpt, AIMS.recordDate)) == "2026-02-03"  # dates: DMY
    assert "Business unit: Marketing" in str(graph.value(chatgpt, AIMS.description))


def test_each_candidate_is_an_intake_task_for_the_requester(tmp_path: Path) -> None:
    export, inventory = _files(tmp_path)
    store = open_store("memory")
    ingest(store, [inventory, export])
    verdict = assess(store, as_of=AS_OF)
    shadow = [t for t in owner_tasks.tasks(verdict, log=tmp_path / "tasks.jsonl")
              if t.rule == "SHADOW-01"]
    # the ChatGPT purchase only: Acrobat is no AI product, Grammarly is inventoried
    assert [(t.person, t.focus, t.severity) for t in shadow] == [
        ("Dana Reyes", ID + "purchase/inv-101", "Warning")]
    assert "'ChatGPT'" in shadow[0].message and "intake" in shadow[0].message
    assert shadow[0].due == AS_OF.replace(month=7, day=30)  # Warning: 30 days


INTAKE_CHATGPT = """\
@prefix aims: <https://aims-graph.org/ns#> .
@prefix ex:   <https://example.org/shadow/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
ex:gpt a aims:ThirdPartyAISystem ; rdfs:label "Marketing copywriter" ; aims:supplier ex:openai .
ex:openai a aims:ThirdParty ; rdfs:label "OpenAI" .
ex:gpt-intake a aims:IntakeRecord ; aims:concernsSystem ex:gpt ;
    aims:recordDate "2026-06-01"^^xsd:date .
"""


def test_an_intake_for_the_product_closes_the_task(tmp_path: Path) -> None:
    export, inventory = _files(tmp_path)
    store = open_store("memory")
    ingest(store, [inventory, export])
    log = tmp_path / "tasks.jsonl"
    [task] = [t for t in owner_tasks.tasks(assess(store, as_of=AS_OF), log=log)
              if t.rule == "SHADOW-01"]
    store.load(INTAKE_CHATGPT.encode(), format="turtle", graph="urn:test:intake")  # type: ignore[attr-defined]
    after = owner_tasks.tasks(assess(store, as_of=AS_OF), log=log)
    assert not [t for t in after if t.rule == "SHADOW-01"]
    assert [e["event"] for e in owner_tasks.history(log, task.id)] == ["opened", "closed"]


def test_cli_tasks_json_names_the_requester(tmp_path: Path) -> None:
    export, inventory = _files(tmp_path)
    folder = tmp_path / "store"
    env = {**os.environ, "AIMS_TASK_LOG": str(tmp_path / "cli-tasks.jsonl")}

    def aims(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AIMS_BIN), *args, "--store", str(folder)], env=env,
                              capture_output=True, text=True, timeout=300)

    loaded = aims("ingest", str(inventory), str(export))
    assert loaded.returncode == 0, loaded.stderr
    assert "with procurement-list" in loaded.stdout + loaded.stderr
    listed = aims("tasks", "--person", "Dana Reyes", "--format", "json", "--as-of", "2026-06-30")
    assert listed.returncode == 0, listed.stderr
    tasks = [t for t in json.loads(listed.stdout) if t["rule"] == "SHADOW-01"]
    assert [(t["person"], t["focus_label"]) for t in tasks] == [
        ("Dana Reyes", "ChatGPT Team (annual) from OpenAI, L.L.C. (INV-101)")]
    others = aims("tasks", "--format", "json", "--as-of", "2026-06-30")
    assert [t["person"] for t in json.loads(others.stdout) if t["rule"] == "SHADOW-01"] == [
        "Dana Reyes"]
    # the intake, ingested later, closes it, also when the findings are kept in the store
    # (re-validated per change: SHADOW-01 re-runs whenever an intake or a name changes)
    kept = aims("validate", "--store-findings", "--as-of", "2026-06-30")
    assert kept.returncode == 1, kept.stderr  # findings: exit 1
    intake = tmp_path / "intake.ttl"
    intake.write_text(INTAKE_CHATGPT, encoding="utf-8")
    assert aims("ingest", str(intake)).returncode == 0
    after = aims("tasks", "--format", "json", "--as-of", "2026-06-30")
    assert after.returncode == 0, after.stderr
    assert not [t for t in json.loads(after.stdout) if t["rule"] == "SHADOW-01"]


def test_every_listed_ai_product_is_sourced_and_named() -> None:
    from rdflib import DCTERMS, SKOS

    onto = resources.ontology()
    products = set(onto.subjects(RDF.type, AIMS.AIProduct))
    assert len(products) >= 10
    for product in products:
        assert onto.value(product, RDFS.label), product
        assert onto.value(product, DCTERMS.publisher), product
        source = onto.value(product, DCTERMS.source)
        assert isinstance(source, URIRef) and str(source).startswith("https://"), product
    names = [str(n) for p in products for n in
             [*onto.objects(p, RDFS.label), *onto.objects(p, SKOS.altLabel)]]
    folded = [" ".join("".join(c if c.isalnum() else " " for c in n.lower()).split())
              for n in names]
    assert len(folded) == len(set(folded)), "two products share a name: matches would be ambiguous"


def test_other_lists_keep_their_mapping(tmp_path: Path) -> None:
    """procurement-list needs a vendor column: an inventory or product list with an id, a date
    or a product column still picks its own mapping."""
    cots = tmp_path / "cots.csv"
    cots.write_text("Agency,AI Use Case,Agency Use (Y/N)?,Name of Commercial Product or Service "
                    "Used,Estimated # of Licenses/Users\nDOX,Drafting,Y,ChatGPT,10\n",
                    encoding="utf-8")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("agency,id,use_case_name\nXYZ,XYZ-1,Alpha\n", encoding="utf-8")
    store = open_store("memory")
    assert [r.mapping for r in ingest(store, [cots, inventory])] == [
        "omb-cots-2025", "omb-ai-inventory-2025"]
