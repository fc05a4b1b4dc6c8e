"""The audit pack in a real browser: Debian's headless Chromium, driven over the DevTools protocol.

No browser-automation dependency: Chromium speaks the DevTools protocol over a pipe
(`--remote-debugging-pipe`: commands on fd 3, replies and events on fd 4, NUL-separated JSON),
and the small client below is all the test needs. One browser run loads the demo pack, records
console errors and every network request, measures the process map, takes a full-page
screenshot and prints to PDF; the PDF's text (poppler's pdftotext) must show the section
headings in order.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mapper.report import SECTIONS, build_report, chromium_flags, chromium_path
from mapper.store import Store

pytestmark = pytest.mark.browser


class DevTools:
    """A minimal Chrome DevTools Protocol client over Chromium's debugging pipe."""

    def __init__(self, browser: str, profile: Path, *, width: int = 1280, height: int = 1600
                 ) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # runs in the child: Chromium expects the pipe on fds 3 and 4
            reading = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4
            writing = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(reading, 3)  # dup2 makes inheritable copies; the originals close on exec
            os.dup2(writing, 4)

        self.proc = subprocess.Popen(
            [browser, *chromium_flags(profile), "--remote-debugging-pipe",
             f"--window-size={width},{height}", "--hide-scrollbars", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds, close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._inbox.put(None)
                return
            buffer += chunk
            while b"\0" in buffer:
                message, buffer = buffer.split(b"\0", 1)
                self._inbox.put(json.loads(message))

    def _pump(self, timeout: float) -> None:
        message = self._inbox.get(timeout=timeout)
        if message is None:
            raise RuntimeError("Chromium closed the DevTools pipe")
        if "id" in message:
            self._replies[message["id"]] = message
        else:
            self.events.append(message)

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float = 60) -> dict[str, Any]:
        """Send one command and wait for its reply (events seen meanwhile are kept)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + timeout
        while self._next not in self._replies:
            self._pump(max(deadline - time.monotonic(), 0.01))
        reply = self._replies.pop(self._next)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_for(self, method: str, *, timeout: float = 60) -> dict[str, Any]:
        """Wait for the first event called `method` (one seen already counts)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["method"] == method:
                    return event
            self._pump(max(deadline - time.monotonic(), 0.01))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, queue.Empty, OSError):
            self.send("Browser.close", timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)


def open_page(tools: DevTools, url: str) -> str:
    """A new tab with console, log, network and page events on; navigated to `url` and loaded."""
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        tools.send(f"{domain}.enable", session=session)
    tools.events.clear()
    tools.send("Page.navigate", {"url": url}, session=session)
    tools.wait_for("Page.loadEventFired")
    return session


def evaluate(tools: DevTools, session: str, expression: str) -> Any:
    """The JSON value of a JavaScript expression in the page."""
    result = tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                        session=session)
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


def full_page_png(tools: DevTools, session: str, path: Path, *, width: int = 1280) -> int:
    """A screenshot of the whole page, written to `path`; returns the page height."""
    height = int(evaluate(tools, session, "document.documentElement.scrollHeight"))
    tools.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
               session=session)
    shot = tools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                      session=session)
    path.write_bytes(base64.b64decode(shot["data"]))
    return height


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium_path()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: run .ci/system-deps")
        pytest.skip("Chromium is not installed (.ci/system-deps installs it)")
    return found


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mapper.store import open_store
    from tests.fixtures.demo import demo_as_of, load_demo

    store: Store = open_store("memory")
    load_demo(store)
    out = tmp_path_factory.mktemp("pack")
    build_report(store, out=out, as_of=demo_as_of())
    store.close()
    return out / "index.html"


@pytest.fixture(scope="module")
def loaded(browser: str, pack: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[dict[str, Any]]:
    """One browser run over the demo pack: events, measurements, screenshot and PDF."""
    work = tmp_path_factory.mktemp("chromium")
    tools = DevTools(browser, work / "profile")
    try:
        url = pack.resolve().as_uri()
        session = open_page(tools, url)
        time.sleep(0.3)  # let late console messages arrive
        facts = {
            "url": url,
            "events": list(tools.events),
            "headings": evaluate(tools, session,
                                 "[...document.querySelectorAll('section > h2')]"
                                 ".map(h => [h.parentElement.id, h.textContent.trim()])"),
            "map": evaluate(tools, session, """(() => {
                const svg = document.querySelector('#lifecycle svg.process-map');
                if (!svg) return null;
                const box = svg.getBoundingClientRect();
                const style = getComputedStyle(svg);
                return {width: box.width, height: box.height, display: style.display,
                        visibility: style.visibility, nodes: svg.querySelectorAll('g.node').length};
            })()"""),
            "scripts": evaluate(tools, session, "document.scripts.length"),
            "png": work / "pack.png",
        }
        facts["height"] = full_page_png(tools, session, facts["png"])
        tools.send("Emulation.clearDeviceMetricsOverride", session=session)
        printed = tools.send("Page.printToPDF", {"printBackground": True,
                                                 "preferCSSPageSize": True}, session=session,
                             timeout=120)
        facts["pdf"] = work / "pack.pdf"
        facts["pdf"].write_bytes(base64.b64decode(printed["data"]))
        if os.environ.get("AIMS_KEEP_SCREENSHOT"):
            shutil.copy(facts["png"], os.environ["AIMS_KEEP_SCREENSHOT"])
        yield facts
    finally:
        tools.close()


def test_no_console_errors(loaded: dict[str, Any]) -> None:
    errors = [e for e in loaded["events"] if (
        e["method"] == "Runtime.exceptionThrown"
        or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error",
                                                                                 "assert"))
        or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"))]
    assert errors == []
    assert loaded["scripts"] == 0


def test_no_request_leaves_the_file(loaded: dict[str, Any]) -> None:
    requests = [e["params"]["request"]["url"] for e in loaded["events"]
                if e["method"] == "Network.requestWillBeSent"]
    assert loaded["url"] in requests  # the network domain did record the page itself
    assert [u for u in requests if u != loaded["url"] and not u.startswith("data:")] == []


def test_every_section_heading_in_order(loaded: dict[str, Any]) -> None:
    assert loaded["headings"] == [list(s) for s in SECTIONS]


def test_process_map_is_visible(loaded: dict[str, Any]) -> None:
    box = loaded["map"]
    assert box is not None, "no process map SVG in section 2"
    assert box["width"] > 400 and box["height"] > 100
    assert box["display"] != "none" and box["visibility"] == "visible"
    assert box["nodes"] >= 10  # the demo organisation's ten processes


def test_screenshot_is_a_full_page(loaded: dict[str, Any]) -> None:
    png = loaded["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, loaded["height"])
    assert height > 3000


def test_pdf_has_the_sections_in_order(loaded: dict[str, Any]) -> None:
    data = loaded["pdf"].read_bytes()
    assert data.startswith(b"%PDF-")
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext is missing: run .ci/system-deps (poppler-utils)")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run([pdftotext, "-layout", str(loaded["pdf"]), "-"], capture_output=True,
                          check=True, timeout=60).stdout.decode("utf-8")
    pages = text.split("\f")
    positions = []
    for _, title in SECTIONS:
        pattern = re.compile(r"\s+".join(map(re.escape, title.split())))
        found = [i for i, page in enumerate(pages) if pattern.search(page)]
        assert found, f"heading {title!r} is not in the PDF"
        positions.append(found[-1])  # the cover's table of contents names them all first
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)  # every section starts on its own page
    assert "SHA-256" in text
