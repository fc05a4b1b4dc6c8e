"""The workspace in a real browser: Playwright for Python driving Debian's Chromium.

A real uvicorn server on a loopback port serves the demo organisation. Every request the
browser makes that leaves 127.0.0.1 fails the test (the workspace and /docs are offline);
every page loads for each role with no console error; the keyboard reaches every control;
axe-core (the copy shipped in the axe-playwright-python package, handed to the page by the
test) reports no serious or critical violation. Screenshots at 1366 x 768 go to
$AIMS_SCREENSHOTS (default: a temporary folder), named <role>-<page>.png.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from mapper.apikeys import ROLES
from mapper.store import open_store
from tests.fixtures.api import free_port, make_keys
from tests.fixtures.demo import demo_as_of, load_demo

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AS_OF = demo_as_of().isoformat()
PAGES = {
    "overview": f"/?as_of={AS_OF}",
    "systems": f"/systems?as_of={AS_OF}",
    "systems-filtered": f"/systems?as_of={AS_OF}&gate=release&status=fail",
    "system": f"/systems/SYS-CLAIMS-TRIAGE?as_of={AS_OF}",
    "findings": f"/findings?as_of={AS_OF}",
    "map": "/map",
}


@dataclass
class Server:
    url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import uvicorn

    folder = tmp_path_factory.mktemp("workspace")
    keys = make_keys(folder / "apikeys.json")
    store = open_store("memory")
    load_demo(store)
    app = create_app(Settings(store="memory", keys_file=folder / "apikeys.json"), store=store)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError("the workspace server did not answer within 30 s")
    # the first assessment (a validation run) is the slow part: do it before the browser
    httpx.get(url + PAGES["overview"], headers={"Authorization": f"Bearer {keys['reader']}"},
              timeout=120).raise_for_status()
    yield Server(url, keys)
    running.should_exit = True
    thread.join(timeout=15)
    store.close()


@dataclass
class Watch:
    """What a browser context did wrong: requests off this machine, console errors."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("AIMS_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _context(browser: Any) -> tuple[Any, Watch]:
    watch = Watch()
    context = browser.new_context(viewport={"width": 1366, "height": 768})

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host != "127.0.0.1":
            watch.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)

    def on_page(page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
        page.on("pageerror", lambda e: watch.errors.append(str(e)))

    context.on("page", on_page)
    return context, watch


def _sign_in(page: Any, server: Server, role: str, target: str = "/") -> None:
    """Sign in with the keyboard alone, as a person would."""
    page.goto(server.url + target)
    assert urlsplit(page.url).path == "/login", page.url
    page.keyboard.press("Tab")  # skip link
    page.focus("#key")
    page.keyboard.type(server.keys[role])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == urlsplit(target).path, page.url


@pytest.mark.parametrize("role", ROLES)
def test_every_page_loads_for_each_role(browser: Any, server: Server, shots: Path,
                                        role: str) -> None:
    context, watch = _context(browser)
    page = context.new_page()
    _sign_in(page, server, role, PAGES["overview"])
    for name, path in PAGES.items():
        response = page.goto(server.url + path)
        assert response is not None and response.status == 200, (name, response)
        assert page.locator("h1").count() == 1, name
        page.screenshot(path=str(shots / f"{role}-{name}.png"))
    assert page.get_by_text(f"test-{role} ({role})").count() == 1
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert urlsplit(page.url).path == "/login"
    page.goto(server.url + "/systems")
    assert urlsplit(page.url).path == "/login", "signed out, the pages ask to sign in again"
    context.close()
    assert watch.outside == [], "requests left 127.0.0.1"
    assert watch.errors == [], "console errors"


def test_pages_state_the_assessment(browser: Any, server: Server) -> None:
    summary = httpx.get(f"{server.url}/v1/gaps", params={"as_of": AS_OF}, timeout=120,
                        headers={"Authorization": f"Bearer {server.keys['reader']}"}
                        ).json()["summary"]
    context, watch = _context(browser)
    page = context.new_page()
    _sign_in(page, server, "reader", PAGES["overview"])
    verdict = page.locator(".verdict").inner_text()
    assert (f"{summary['systems_passing_all_gates']} of {summary['systems_in_scope']}"
            in verdict), verdict
    assert f"{summary['violations']} violations" in verdict
    for question in ("processes and their interactions", "inventory is complete",
                     "approve exceptions", "continual improvement"):
        assert page.get_by_text(question, exact=False).count() >= 1, question
    people = dict(summary["findings_by_person"])
    for name, count in people.items():
        row = page.locator("#people ~ table tr", has_text=name).first
        assert row.locator("td.num").inner_text() == str(count), name
    page.goto(server.url + PAGES["systems"])
    assert page.locator("p.count").inner_text().startswith(
        f"{summary['systems_in_scope']} of {summary['systems_in_scope']}")
    page.goto(server.url + PAGES["systems-filtered"])
    count = page.locator("table.systems tbody tr").count()
    assert 0 < count < summary["systems_in_scope"]
    assert all(page.locator("table.systems tbody tr").nth(i).locator(".s-fail").count()
               for i in range(count))
    context.close()
    assert watch.outside == [] and watch.errors == []


def test_keyboard_reaches_every_control(browser: Any, server: Server) -> None:
    context, watch = _context(browser)
    page = context.new_page()
    _sign_in(page, server, "reader", PAGES["systems"])
    controls = page.evaluate("""() => Array.from(document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea'))
        .filter(e => !e.disabled).length""")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    reached: set[str] = set()
    for _ in range(controls + 3):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("""() => { const e = document.activeElement;
            const all = Array.from(document.querySelectorAll(
              'a[href], button, input:not([type=hidden]), select, textarea'));
            return String(all.indexOf(e)); }"""))
    reached.discard("-1")
    assert len(reached) == controls, f"Tab reached {len(reached)} of {controls} controls"
    context.close()
    assert watch.outside == [] and watch.errors == []


def _axe_source() -> str:
    from axe_playwright_python.base import AXE_FILE_PATH

    return AXE_FILE_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["login", *PAGES])
def test_accessibility_has_no_serious_violation(browser: Any, server: Server,
                                                name: str) -> None:
    context, watch = _context(browser)
    page = context.new_page()
    if name == "login":
        page.goto(server.url + "/login")
    else:
        _sign_in(page, server, "reader", PAGES[name])
    # evaluated through the DevTools protocol: the page's CSP (no script) stays in force
    page.evaluate(_axe_source())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert result["passes"], "axe ran no check"
    serious = [f"{v['id']} ({v['impact']}): {v['help']} at "
               f"{[n['target'] for n in v['nodes'][:3]]}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    context.close()
    assert serious == [], "\n".join(serious)
    assert watch.outside == [] and watch.errors == []


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_render_offline(browser: Any, server: Server, shots: Path, path: str) -> None:
    context, watch = _context(browser)
    page = context.new_page()
    page.goto(server.url + path)
    if path == "/docs":
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        assert "AIMS Graph API" in page.locator(".swagger-ui .info .title").inner_text()
    else:
        page.wait_for_selector("h1", timeout=20_000)
        assert "AIMS Graph API" in page.locator("h1").first.inner_text()
    page.screenshot(path=str(shots / f"docs-{path.strip('/')}.png"))
    context.close()
    assert watch.outside == [], "the docs fetched something off this machine"
    # ReDoc's bundle always asks for Redocly's logo from their CDN; the page's CSP refuses it
    refused_logo = re.compile(
        r"Loading the image 'https://cdn\.redoc\.ly/redoc/logo-mini\.svg' violates")
    assert [e for e in watch.errors if not refused_logo.search(e)] == []
