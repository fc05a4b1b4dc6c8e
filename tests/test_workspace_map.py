"""The process map prints readably on A4 landscape and its red boxes say what is wrong."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mapper.questions import processes
from mapper.store import Store

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")

A4_LANDSCAPE_PT = (842.0 - 2 * 28.35, 595.0 - 2 * 28.35)
"""The printable area of an A4 landscape page with 10 mm margins, in points."""
SVG = "{http://www.w3.org/2000/svg}"


def _size(svg: ET.Element) -> tuple[float, float]:
    return (float(svg.attrib["width"].removesuffix("pt")),
            float(svg.attrib["height"].removesuffix("pt")))


def test_the_map_fits_a4_landscape_with_text_of_8_pt_or_more(demo_store: Store) -> None:
    svg = ET.fromstring(processes.to_svg(processes.build(demo_store)))
    width, height = _size(svg)
    scale = min(1.0, A4_LANDSCAPE_PT[0] / width, A4_LANDSCAPE_PT[1] / height)
    sizes = [float(t.attrib["font-size"]) for t in svg.iter(f"{SVG}text")]
    assert sizes, "the map has no text"
    assert min(sizes) * scale >= 8.0, (width, height, min(sizes), scale)
    assert width < 1200, "the map wraps into rows instead of one long row"


def test_red_boxes_say_why_with_the_rule(demo_store: Store) -> None:
    pm = processes.build(demo_store)
    dot = processes.to_dot(pm)
    foci = processes.problem_foci(pm, serious=True)
    boxes = re.findall(r'^\s+(\w+) \[label="([^"]*)", fillcolor="#fde2e2"', dot, re.M)
    assert boxes, "the demo has red boxes"
    for _, label in boxes:
        assert re.search(r"! .*\(PROC-\d\d\)", label.replace("\\n", " ")), label
    flagged = [n for n in pm.graph.nodes if n in foci]
    assert len(boxes) == len(flagged)
    placeholder = re.search(r'm0 \[label="([^"]*)", style="rounded,dashed', dot)
    assert placeholder and "missing: training and" in placeholder.group(1)
    assert "PROC-01" in placeholder.group(1)


@pytest.mark.browser
def test_the_map_renders_to_png_at_a4_landscape(demo_store: Store, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    (tmp_path / "map.svg").write_text(processes.to_svg(processes.build(demo_store)),
                                      encoding="utf-8")
    (tmp_path / "a4.html").write_text(
        '<!DOCTYPE html><html><body style="margin:10mm"><img src="map.svg" '
        'style="width:277mm;height:190mm;object-fit:contain" alt="map"></body></html>',
        encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1123, "height": 794})  # A4 at 96 dpi
        page.goto((tmp_path / "a4.html").as_uri())
        loaded = page.evaluate("document.images[0].complete && document.images[0]"
                               ".naturalWidth")
        page.screenshot(path=str(tmp_path / "map-a4.png"))
        browser.close()
    assert loaded and loaded > 0
    assert (tmp_path / "map-a4.png").stat().st_size > 20_000
