"""The auth matrix: every operation with no key, a reader, a contributor and an admin key."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.api import auth

TTL = b'<https://example.org/aims/auth-node> <http://www.w3.org/2000/01/rdf-schema#label> "x" .'

# (method, route path) -> (weakest role allowed, request path, request options)
MATRIX: dict[tuple[str, str], tuple[str | None, str, dict[str, Any]]] = {
    ("GET", "/healthz"): (None, "/healthz", {}),
    ("POST", "/v1/ingest"): ("contributor", "/v1/ingest?verdict=false", {
        "content": TTL, "headers": {"Content-Type": "application/n-triples"}}),
    ("GET", "/v1/batches"): ("reader", "/v1/batches", {}),
    ("GET", "/v1/batches/{batch_id}"): ("reader", "/v1/batches/none", {}),
    ("DELETE", "/v1/batches/{batch_id}"): ("admin", "/v1/batches/none", {}),
    ("GET", "/v1/rules"): ("reader", "/v1/rules", {}),
    ("GET", "/v1/validate"): ("reader", "/v1/validate?as_of=2026-06-30&rule=SCOPE-01", {}),
    ("GET", "/v1/gaps"): ("reader", "/v1/gaps?as_of=2026-06-30", {}),
    ("GET", "/v1/systems"): ("reader", "/v1/systems", {}),
    ("GET", "/v1/systems/{system_id}"): ("reader", "/v1/systems/SYS-NONE", {}),
    ("GET", "/v1/systems/{system_id}/trace"): ("reader", "/v1/systems/SYS-NONE/trace", {}),
    ("GET", "/v1/processes"): ("reader", "/v1/processes", {}),
    ("GET", "/v1/process-map"): ("reader", "/v1/process-map", {}),
    ("GET", "/v1/queries"): ("reader", "/v1/queries", {}),
    ("GET", "/v1/queries/{name}"): ("reader", "/v1/queries/ai-systems", {}),
    ("GET", "/sparql"): ("reader", "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D", {}),
    ("POST", "/sparql"): ("reader", "/sparql", {"data": {"query": "ASK { ?s ?p ?o }"}}),
    ("GET", "/v1/systems/{system_id}/gates/{gate}"): ("reader", "/v1/systems/SYS-NONE/gates/risk",
                                                      {}),
    ("GET", "/v1/tasks"): ("reader", "/v1/tasks?as_of=2026-06-30", {}),
    ("GET", "/v1/tasks/digest"): ("reader", "/v1/tasks/digest?as_of=2026-06-30", {}),
    ("GET", "/v1/webhooks"): ("admin", "/v1/webhooks", {}),
    ("POST", "/v1/webhooks"): ("admin", "/v1/webhooks", {"json": {
        "url": "http://127.0.0.1:9/hook", "events": ["finding.opened"]}}),
    ("DELETE", "/v1/webhooks/{webhook_id}"): ("admin", "/v1/webhooks/none", {}),
    ("GET", "/v1/webhooks/deliveries"): ("admin", "/v1/webhooks/deliveries", {}),
    ("POST", "/v1/records"): ("contributor", "/v1/records?verdict=false", {"json": {
        "type": "CorrectiveAction", "id": "CA-AUTH-1", "label": "auth matrix"}}),
    ("GET", "/v1/records/{record_id}"): ("reader", "/v1/records/NONE", {}),
    ("PATCH", "/v1/records/{record_id}"): ("contributor", "/v1/records/NONE",
                                           {"json": {"label": "x"}}),
    ("DELETE", "/v1/records/{record_id}"): ("admin", "/v1/records/NONE", {}),
}
ORDER = ("reader", "contributor", "admin")


def _operations(client: TestClient) -> set[tuple[str, str]]:
    paths = client.get("/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def test_every_operation_is_in_the_matrix(api_client: TestClient) -> None:
    assert _operations(api_client) == set(MATRIX)


@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda o: f"{o[0]} {o[1]}")
def test_auth_matrix(api_client: TestClient, api_keys: dict[str, str],
                     operation: tuple[str, str]) -> None:
    needed, path, options = MATRIX[operation]
    method = operation[0]
    for caller in (None, *ORDER):
        headers = dict(options.get("headers", {}))
        if caller:
            headers |= auth(api_keys[caller])
        response = api_client.request(method, path, headers=headers,
                                      **{k: v for k, v in options.items() if k != "headers"})
        allowed = needed is None or (caller is not None
                                     and ORDER.index(caller) >= ORDER.index(needed))
        if allowed:
            # allowed: the operation itself answers (201 created, 404 for the made-up ids,
            # 409 for the record the lower role created first)
            assert response.status_code in (200, 201, 404, 409), (caller, response.text)
            if response.status_code == 404:
                assert response.json()["error"] == "not_found"
            if response.status_code == 409:
                assert response.json()["error"] == "exists"
        elif caller is None:
            assert response.status_code == 401, (caller, response.text)
        else:
            assert response.status_code == 403, (caller, response.text)
            assert needed in response.json()["message"]
