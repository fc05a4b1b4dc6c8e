"""The workspace pages over HTTP (no browser): sign-in, cookies, CSRF, roles, escaping,
offline docs, and paging over a few thousand systems."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mapper.apikeys import KeyRing
from mapper.store import Store, open_store
from tests.fixtures.api import auth, make_client
from tests.fixtures.demo import demo_as_of

AS_OF = demo_as_of().isoformat()
ROOT = Path(__file__).resolve().parents[1]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _sign_in(client: TestClient, key: str, next: str = "/") -> TestClient:
    form = client.get("/login")
    response = client.post("/login", data={"key": key, "csrf": _csrf(form.text), "next": next},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_name_only_local_assets(api_client: TestClient, path: str) -> None:
    page = api_client.get(path)
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/assets/docs/") for u in urls), urls
    assert "https://" not in page.text.replace("https://swagger.io", "")
    for url in urls:
        assert api_client.get(url).status_code == 200, url
    assert "script-src 'self' " in page.headers["content-security-policy"]


def test_a_page_without_a_key_asks_to_sign_in(api_client: TestClient) -> None:
    response = api_client.get("/systems?q=claims", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsystems%3Fq%3Dclaims"
    assert api_client.get("/login").status_code == 200


def test_bearer_keys_work_on_pages_and_the_csp_allows_no_script(
        api_client: TestClient, api_keys: dict[str, str]) -> None:
    page = api_client.get(f"/?as_of={AS_OF}", headers=auth(api_keys["reader"]))
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "<script" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    refused = api_client.get("/", headers=auth("aims_not-a-key"), follow_redirects=False)
    assert refused.status_code == 303


def test_sign_in_sets_a_strict_http_only_cookie_that_is_not_the_key(
        api_client: TestClient, api_keys: dict[str, str]) -> None:
    form = api_client.get("/login")
    response = api_client.post(
        "/login", data={"key": api_keys["reader"], "csrf": _csrf(form.text),
                        "next": "/systems"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/systems"
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith("aims_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback; over TLS it is set
    assert api_keys["reader"] not in cookie
    assert api_client.get(f"/systems?as_of={AS_OF}").status_code == 200


def test_sign_in_refuses_a_forged_form_and_a_foreign_origin(
        api_client: TestClient, api_keys: dict[str, str]) -> None:
    api_client.get("/login")
    forged = api_client.post("/login", data={"key": api_keys["admin"], "csrf": "guess"})
    assert forged.status_code == 403
    form = api_client.get("/login")
    foreign = api_client.post("/login", data={"key": api_keys["admin"],
                                              "csrf": _csrf(form.text)},
                              headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert "aims_session" not in api_client.cookies


def test_a_wrong_key_says_so_and_next_stays_on_this_site(
        api_client: TestClient, api_keys: dict[str, str]) -> None:
    form = api_client.get("/login")
    wrong = api_client.post("/login", data={"key": "aims_wrong", "csrf": _csrf(form.text)})
    assert "unknown or revoked API key" in wrong.text
    form = api_client.get("/login")
    away = api_client.post("/login", data={"key": api_keys["reader"], "csrf": _csrf(form.text),
                                           "next": "//evil.example/x"},
                           follow_redirects=False)
    assert away.headers["location"] == "/"


def test_revoking_the_key_ends_its_sessions(api_client: TestClient, tmp_path: Path,
                                            api_keys: dict[str, str]) -> None:
    _sign_in(api_client, api_keys["reader"])
    assert api_client.get(f"/findings?as_of={AS_OF}").status_code == 200
    KeyRing(tmp_path / "apikeys.json").revoke("test-reader")
    gone = api_client.get(f"/findings?as_of={AS_OF}", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")


def test_sign_out_needs_the_session_token(api_client: TestClient,
                                          api_keys: dict[str, str]) -> None:
    _sign_in(api_client, api_keys["reader"])
    page = api_client.get(f"/findings?as_of={AS_OF}")
    assert api_client.post("/logout", data={"csrf": "guess"}).status_code == 403
    out = api_client.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert api_client.get("/", follow_redirects=False).status_code == 303


def test_unknown_system_and_rule_are_pages_that_say_what_to_do(
        api_client: TestClient, api_keys: dict[str, str]) -> None:
    missing = api_client.get("/systems/SYS-NOPE", headers=auth(api_keys["reader"]))
    assert missing.status_code == 404 and "no AI system matches" in missing.text
    rule = api_client.get("/findings?rule=NOPE-1", headers=auth(api_keys["reader"]))
    assert rule.status_code == 404 and "no rule" in rule.text


HOSTILE = """\
@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/sys-x> a aims:InternalAISystem ; aims:identifier "SYS-<b>X</b>" ;
    rdfs:label "<script>alert(1)</script> & \\"quoted\\"" ; aims:inScope true .
"""


def test_every_value_is_escaped(demo_store: Store, tmp_path: Path,
                                api_keys: dict[str, str]) -> None:
    demo_store.load(HOSTILE.encode(), format="turtle", graph="urn:test:hostile")  # type: ignore[attr-defined]
    with make_client(demo_store, tmp_path / "apikeys.json") as client:
        listing = client.get(f"/systems?as_of={AS_OF}&q=SYS-%3Cb", headers=auth(api_keys["reader"]))
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quoted&#34;" in listing.text
        assert "<script>" not in listing.text and "<b>X" not in listing.text
        assert 'href="/systems/SYS-%3Cb%3EX%3C%2Fb%3E' in listing.text
        one = client.get("/systems/SYS-%3Cb%3EX%3C%2Fb%3E", headers=auth(api_keys["reader"]))
        assert one.status_code == 200 and "<script>" not in one.text


def _synthetic(n: int) -> tuple[str, object]:
    spec = importlib.util.spec_from_file_location("bench_validate", ROOT / "bench" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text, _ = module.synthetic_org(n)
    return text, module.AS_OF


@pytest.fixture(scope="module")
def big_store() -> Iterator[tuple[Store, str]]:
    text, as_of = _synthetic(2000)
    store = open_store("memory")
    store.load(text.encode(), format="turtle", graph="urn:test:synthetic")  # type: ignore[attr-defined]
    yield store, str(as_of)
    store.close()


def test_systems_pages_through_thousands(big_store: tuple[Store, str], tmp_path: Path) -> None:
    store, as_of = big_store
    key = KeyRing(tmp_path / "apikeys.json").create(name="r", role="reader")
    with make_client(store, tmp_path / "apikeys.json") as client:
        first = client.get(f"/systems?as_of={as_of}", headers=auth(key))
        assert first.status_code == 200
        rows = first.text.count('<td class="id">')
        assert rows == 50
        total = int(re.search(r"(\d+) of (\d+) in-scope systems match", first.text).group(2))
        assert total > 1000
        pages = -(-total // 50)
        assert f"Page 1 of {pages}" in first.text
        last = client.get(f"/systems?as_of={as_of}&page={pages}", headers=auth(key))
        assert 0 < last.text.count('<td class="id">') <= 50
        failing = client.get(f"/systems?as_of={as_of}&gate=intake&status=fail&sort=owner",
                             headers=auth(key))
        matched = int(re.search(r"(\d+) of \d+ in-scope", failing.text).group(1))
        assert 0 < matched < total
        assert failing.text.count('<td class="id">') == min(50, matched)
