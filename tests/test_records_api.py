"""/v1/records over real HTTP against a served store holding the demo: create, read, patch
with ETag / If-Match, delete by role, unknown fields, the verdict, the ontology-made schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rdflib import OWL, RDF, RDFS, URIRef

from mapper import resources
from tests.fixtures.api import LiveServer, auth, start_server, stop_server
from tests.fixtures.demo import DEMO_DIR

AIMS = "https://aims-graph.org/ns#"
CA = "https://meridian.example/aims/ca-2026-004"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("records"))
    for path in sorted(DEMO_DIR.glob("*.ttl")):
        httpx.post(f"{live.url}/v1/ingest", params={"filename": path.name, "verdict": "false"},
                   content=path.read_bytes(), timeout=60,
                   headers=auth(live.keys["contributor"]) | {"Content-Type": "text/turtle"}
                   ).raise_for_status()
    yield live
    stop_server(live)


def _call(server: LiveServer, method: str, path: str, role: str = "contributor",
          **kwargs: Any) -> httpx.Response:
    headers = auth(server.keys[role]) | kwargs.pop("headers", {})
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=60, **kwargs)


def test_create_read_patch_delete(server: LiveServer) -> None:
    body = {"type": "CorrectiveAction", "id": "CA-TEST-1", "label": "Fix the thing",
            "dueDate": "2026-09-30"}
    made = _call(server, "POST", "/v1/records", json=body)
    assert made.status_code == 201, made.text
    record = made.json()["record"]
    assert record["type"] == "CorrectiveAction" and record["label"] == "Fix the thing"
    assert record["identifier"] == "CA-TEST-1" and record["dueDate"] == "2026-09-30"
    [batch] = made.json()["batches"]
    assert batch["status"] == "loaded" and batch["source"].startswith("record-")
    assert _call(server, "POST", "/v1/records", json=body).status_code == 409  # exists

    got = _call(server, "GET", "/v1/records/CA-TEST-1", role="reader")
    assert got.status_code == 200 and got.json()["label"] == "Fix the thing"
    tag = got.headers["ETag"]
    assert tag == made.headers["ETag"]

    no_match = _call(server, "PATCH", "/v1/records/CA-TEST-1", json={"label": "x"})
    assert no_match.status_code == 428 and no_match.json()["error"] == "precondition_required"
    patched = _call(server, "PATCH", "/v1/records/CA-TEST-1", json={"label": "Fixed"},
                    headers={"If-Match": tag})
    assert patched.status_code == 200, patched.text
    assert patched.json()["record"]["label"] == "Fixed"
    assert patched.json()["record"]["dueDate"] == "2026-09-30"  # untouched fields stay
    assert patched.headers["ETag"] != tag
    stale = _call(server, "PATCH", "/v1/records/CA-TEST-1", json={"label": "Lost"},
                  headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"] == "precondition_failed"
    assert _call(server, "GET", "/v1/records/CA-TEST-1").json()["label"] == "Fixed"
    batches = _call(server, "GET", "/v1/batches", role="reader").json()
    mine = [b for b in batches if b["source"] == batch["source"]]
    assert [b["status"] for b in mine] == ["superseded", "current"]  # one batch per write

    fresh = patched.headers["ETag"]
    assert _call(server, "DELETE", "/v1/records/CA-TEST-1",
                 headers={"If-Match": fresh}).status_code == 403  # contributors do not delete
    gone = _call(server, "DELETE", "/v1/records/CA-TEST-1", role="admin",
                 headers={"If-Match": fresh})
    assert gone.status_code == 204, gone.text
    assert _call(server, "GET", "/v1/records/CA-TEST-1").status_code == 404


def test_unknown_field_and_type_get_the_closest_name(server: LiveServer) -> None:
    wrong = _call(server, "POST", "/v1/records",
                  json={"type": "CorrectiveAction", "id": "CA-T2", "dueDat": "2026-01-01"})
    assert wrong.status_code == 422
    assert "dueDate" in wrong.json()["message"] and wrong.json()["ref"] == "dueDat"
    kind = _call(server, "POST", "/v1/records",
                 json={"type": "CorrectiveActon", "id": "CA-T2"})
    assert kind.status_code == 422 and "CorrectiveAction" in kind.json()["message"]
    date = _call(server, "POST", "/v1/records",
                 json={"type": "CorrectiveAction", "id": "CA-T2", "dueDate": "30/09/2026"})
    assert date.status_code == 422 and date.json()["ref"] == "dueDate"
    assert _call(server, "GET", "/v1/records/CA-T2").status_code == 404  # nothing written


def test_patch_of_a_demo_record_replaces_the_other_batch_value(server: LiveServer) -> None:
    """A field another batch (the demo's improvement.ttl) gives is replaced, not doubled, and
    the verdict comes back for the system the record concerns."""
    before = _call(server, "GET", f"/v1/records/{CA}")
    assert before.status_code == 200, before.text
    assert isinstance(before.json()["label"], str)
    changed = _call(server, "PATCH", f"/v1/records/{CA}", json={"label": "Renamed by a tool"},
                    headers={"If-Match": before.headers["ETag"]},
                    params={"as_of": "2026-06-30"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["record"]["label"] == "Renamed by a tool"  # one value, not two
    verdict = changed.json()["verdict"]
    assert verdict is not None and verdict["as_of"] == "2026-06-30"
    # the demo's own batch still describes it, so deleting the record is refused
    refused = _call(server, "DELETE", f"/v1/records/{CA}", role="admin",
                    headers={"If-Match": changed.headers["ETag"]})
    assert refused.status_code == 409 and "improvement" in refused.json()["message"]


def test_the_schema_is_the_ontology(server: LiveServer) -> None:
    """Every aims: class is a `type` and every aims: property a field, with its range's type:
    a property added to or removed from ontology/ changes the served schema."""
    spec = httpx.get(f"{server.url}/openapi.json").json()
    schema = spec["paths"]["/v1/records"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    onto = resources.ontology()
    classes = {str(c)[len(AIMS):] for c in onto.subjects(RDF.type, OWL.Class)
               if str(c).startswith(AIMS)}
    props = {str(p)[len(AIMS):]: onto.value(p, RDFS.range)
             for kind in (OWL.ObjectProperty, OWL.DatatypeProperty)
             for p in onto.subjects(RDF.type, kind) if str(p).startswith(AIMS)}
    assert set(schema["properties"]["type"]["enum"]) == classes
    assert set(schema["properties"]) == {"type", "id", "label"} | set(props)
    for name, rng in props.items():
        first = schema["properties"][name]["anyOf"][0]
        if rng == URIRef("http://www.w3.org/2001/XMLSchema#date"):
            assert first == {"type": "string", "format": "date"}, name
        if rng == URIRef("http://www.w3.org/2001/XMLSchema#boolean"):
            assert first == {"type": "boolean"}, name


def test_reader_cannot_write(server: LiveServer) -> None:
    refused = _call(server, "POST", "/v1/records", role="reader",
                    json={"type": "CorrectiveAction", "id": "CA-T3"})
    assert refused.status_code == 403



def test_texts_with_tabs_and_line_breaks_round_trip(server: LiveServer) -> None:
    text = "first\tcolumn\nsecond line \u00e7"
    made = _call(server, "POST", "/v1/records", params={"verdict": "false"},
                 json={"type": "AuditFinding", "id": "AF-TAB-1", "triage": [text, "other"]})
    assert made.status_code == 201, made.text
    assert sorted(made.json()["record"]["triage"]) == sorted([text, "other"])
