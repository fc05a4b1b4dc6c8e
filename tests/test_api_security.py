"""Keys, roles, error shapes, body limits: the API's safety rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from mapper.apikeys import KeyRing
from mapper.errors import StoreUnavailable
from mapper.store import Store
from tests.fixtures.api import auth, make_client

ASK = "ASK { ?s ?p ?o }"


def test_no_key_is_401_with_challenge(api_client: TestClient) -> None:
    response = api_client.get("/v1/queries")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()) == {"error", "message", "ref"}
    assert response.json()["error"] == "unauthorized"


def test_unknown_key_is_401(api_client: TestClient) -> None:
    assert api_client.get("/v1/queries", headers=auth("aims_not-a-key")).status_code == 401
    assert api_client.get("/v1/queries", headers={"Authorization": "Basic eDp5"}).status_code \
        == 401


def test_x_api_key_header_works(api_client: TestClient, api_keys: dict[str, str]) -> None:
    assert api_client.get("/v1/queries", headers={"X-API-Key": api_keys["reader"]}) \
        .status_code == 200


def test_keys_are_stored_hashed(tmp_path: Path, api_keys: dict[str, str]) -> None:
    stored = (tmp_path / "apikeys.json").read_text()
    assert all(key not in stored for key in api_keys.values())
    assert "sha256:" in stored
    assert (tmp_path / "apikeys.json").stat().st_mode & 0o077 == 0


def test_revoked_key_stops_working_at_once(api_client: TestClient, tmp_path: Path,
                                           api_keys: dict[str, str]) -> None:
    headers = auth(api_keys["reader"])
    assert api_client.get("/v1/queries", headers=headers).status_code == 200
    KeyRing(tmp_path / "apikeys.json").revoke("test-reader")
    assert api_client.get("/v1/queries", headers=headers).status_code == 401
    new = KeyRing(tmp_path / "apikeys.json").create(name="late", role="reader")
    assert api_client.get("/v1/queries", headers=auth(new)).status_code == 200


def test_healthz_needs_no_key(api_client: TestClient) -> None:
    body = api_client.get("/healthz").json()
    assert body["status"] == "ok" and body["store"] == "memory"


def test_store_down_is_503(api_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    store = api_client.app.state.aims.store  # type: ignore[attr-defined]

    def down() -> list[str]:
        raise StoreUnavailable("the store at x cannot be reached")

    monkeypatch.setattr(store, "graphs", down)
    response = api_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    # a server fault: generic message and an incident id, the detail only in the server log
    assert body["error"] == "store_unavailable" and "the store at x" not in body["message"]
    assert body["ref"] and len(body["ref"]) == 12


@pytest.fixture
def buggy_client(demo_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(store="memory", auth=False), store=demo_store)

    def broken() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.add_api_route("/boom", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_bug_is_logged_500_without_internals(buggy_client: TestClient,
                                            caplog: pytest.LogCaptureFixture) -> None:
    response = buggy_client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal" and "secret" not in response.text
    assert body["ref"] and body["ref"] in caplog.text and "secret internals" in caplog.text


def test_declared_body_over_limit_is_413(demo_store: Store, tmp_path: Path,
                                         api_keys: dict[str, str]) -> None:
    with make_client(demo_store, tmp_path / "apikeys.json", max_body_bytes=1000) as client:
        headers = auth(api_keys["reader"]) | {"Content-Type": "application/sparql-query"}
        big = ("# " + "x" * 2000 + "\n" + ASK).encode()
        response = client.post("/sparql", content=big, headers=headers)
        assert response.status_code == 413 and response.json()["error"] == "too_large"
        assert client.post("/sparql", content=ASK.encode(), headers=headers).status_code == 200


def test_streamed_body_over_limit_is_413(demo_store: Store, tmp_path: Path,
                                         api_keys: dict[str, str]) -> None:
    """A chunked body (no Content-Length) is counted as it arrives."""
    with make_client(demo_store, tmp_path / "apikeys.json", max_body_bytes=1000) as client:
        headers = auth(api_keys["reader"]) | {"Content-Type": "application/sparql-query"}

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"# " + b"x" * 300 + b"\n"
            yield ASK.encode()

        response = client.post("/sparql", content=chunks(), headers=headers)
        assert "content-length" not in {k.lower() for k in response.request.headers}
        assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_unknown_route_has_the_error_shape(api_client: TestClient) -> None:
    response = api_client.get("/v1/nothing-here")
    assert response.status_code == 404 and set(response.json()) == {"error", "message", "ref"}


def test_bad_parameter_is_422_with_the_error_shape(api_client: TestClient,
                                                   api_keys: dict[str, str]) -> None:
    response = api_client.get("/v1/queries/expired-exceptions", params={"as_of": "30/06/2026"},
                              headers=auth(api_keys["reader"]))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input" and "YYYY-MM-DD" in response.json()[
        "message"]


def test_a_request_waits_for_a_write_at_most_lock_timeout(
    demo_store: Store, tmp_path: Path, api_keys: dict[str, str]
) -> None:
    with make_client(demo_store, tmp_path / "apikeys.json", lock_timeout=0.3) as client:
        state = client.app.state.aims  # type: ignore[attr-defined]
        with state.lock.write():
            busy = client.get("/v1/queries/ai-systems", headers=auth(api_keys["reader"]))
            alive = client.get("/healthz")
        assert busy.status_code == 503 and busy.json()["error"] == "busy"
        assert alive.status_code == 200  # liveness does not wait for the write
        ok = client.get("/v1/queries/ai-systems", headers=auth(api_keys["reader"]))
        assert ok.status_code == 200


def test_openapi_describes_every_operation_with_an_example(api_client: TestClient) -> None:
    doc = api_client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def example_of(op: dict[str, object]) -> bool:
        for code, response in op["responses"].items():  # type: ignore[attr-defined]
            if not str(code).startswith("2"):
                continue
            if str(code) == "204":  # no body to show: its parameters carry the examples
                params = op.get("parameters", [])  # type: ignore[attr-defined]
                return bool(params) and all("examples" in p["schema"] or "example" in p
                                            or "examples" in p for p in params)
            for content in response.get("content", {}).values():
                schema = content.get("schema", {})
                ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
                if "example" in content or (ref and "examples" in schemas[ref.split("/")[-1]]):
                    return True
        return False

    operations = [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]
    assert len(operations) == 28
    for method, path, op in operations:
        assert op.get("summary") and op.get("description"), (method, path)
        assert example_of(op), (method, path)
    assert {"HTTPBearer", "APIKeyHeader"} <= set(doc["components"]["securitySchemes"])
