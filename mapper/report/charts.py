"""SVG charts for the audit pack, drawn by the project (no JavaScript, no external fonts).

Every function returns a `markupsafe.Markup` holding one `<svg>` element with a viewBox, so the
chart scales to the page and prints sharply; every label that comes from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

FONT = "font-family='DejaVu Sans, Liberation Sans, Arial, sans-serif'"
COLOURS = {
    "violation": "#c0392b",
    "warning": "#d68910",
    "pass": "#1e8449",
    "grey": "#aab7b8",
    "ink": "#1c2833",
    "muted": "#5d6d7e",
    "grid": "#d5dbdb",
    "accent": "#1f618d",
}


def _svg(width: float, height: float, body: str, *, title: str, css_class: str) -> Markup:
    return Markup(
        f"<svg xmlns='http://www.w3.org/2000/svg' class='{css_class}' role='img' "
        f"viewBox='0 0 {width:.0f} {height:.0f}' width='{width:.0f}' height='{height:.0f}' "
        f"{FONT}><title>{escape(title)}</title>{body}</svg>"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass(frozen=True)
class Bar:
    """One bar of a stacked horizontal bar chart: a label and its violation/warning counts."""

    label: str
    violations: int
    warnings: int = 0

    @property
    def total(self) -> int:
        return self.violations + self.warnings


def bar_chart(bars: Sequence[Bar], *, title: str, label_width: int = 240) -> Markup:
    """A horizontal stacked bar chart of violations (red) and warnings (amber) per label.

    >>> svg = bar_chart([Bar("4.4", 3, 1), Bar("<b>", 0, 2)], title="by clause")
    >>> svg.startswith("<svg") and "&lt;b&gt;" in svg and "<b>" not in svg
    True
    """
    row, top, plot = 22, 28, 520
    width = label_width + plot + 50
    height = top + row * max(len(bars), 1) + 10
    peak = max((b.total for b in bars), default=0) or 1
    scale = plot / peak
    parts = [
        f"<text x='0' y='14' font-size='12' fill='{COLOURS['ink']}' font-weight='bold'>"
        f"{escape(title)}</text>",
        f"<rect x='{width - 190}' y='4' width='10' height='10' fill='{COLOURS['violation']}'/>"
        f"<text x='{width - 176}' y='13' font-size='11' fill='{COLOURS['muted']}'>violations</text>"
        f"<rect x='{width - 100}' y='4' width='10' height='10' fill='{COLOURS['warning']}'/>"
        f"<text x='{width - 86}' y='13' font-size='11' fill='{COLOURS['muted']}'>warnings</text>",
    ]
    if not bars:
        parts.append(f"<text x='0' y='{top + 14}' font-size='12' fill='{COLOURS['muted']}'>"
                     "no findings</text>")
    for index, bar in enumerate(bars):
        y = top + index * row
        parts.append(
            f"<text x='{label_width - 8}' y='{y + 14}' font-size='11' text-anchor='end' "
            f"fill='{COLOURS['ink']}'>{escape(_clip(bar.label, 38))}</text>"
        )
        x = float(label_width)
        for count, colour in ((bar.violations, "violation"), (bar.warnings, "warning")):
            if count:
                w = count * scale
                parts.append(f"<rect x='{x:.1f}' y='{y + 3}' width='{w:.1f}' height='15' "
                             f"fill='{COLOURS[colour]}'/>")
                x += w
        parts.append(f"<text x='{x + 5:.1f}' y='{y + 14}' font-size='11' "
                     f"fill='{COLOURS['ink']}'>{bar.total}</text>")
    return _svg(width, height, "".join(parts), title=title, css_class="chart bar-chart")


@dataclass(frozen=True)
class FunnelStage:
    """One gate of the funnel: systems that reached it, passed it, failed it, or are not there yet.

    `passed` + `failed` + `not_reached` = the systems that passed every earlier gate.
    """

    label: str
    passed: int
    failed: int
    not_reached: int = 0


def funnel_chart(total: int, stages: Sequence[FunnelStage], *, title: str) -> Markup:
    """The gate funnel: one row per gate, green = passed so far, red = fell out at this gate,
    grey = not yet at this gate (e.g. not deployed), widths relative to the in-scope total.

    >>> svg = funnel_chart(4, [FunnelStage("intake", 3, 1), FunnelStage("risk", 2, 1)],
    ...                    title="gates")
    >>> svg.count("<rect") >= 4
    True
    """
    label_width, plot, row, top = 110, 480, 34, 30
    width = label_width + plot + 230
    height = top + row * (len(stages) + 1) + 8
    scale = plot / (total or 1)
    parts = [
        f"<text x='0' y='14' font-size='12' font-weight='bold' fill='{COLOURS['ink']}'>"
        f"{escape(title)}</text>",
    ]
    rows: list[tuple[str, list[tuple[int, str]], str]] = [
        ("in scope", [(total, "accent")], f"{total} systems"),
    ]
    for stage in stages:
        note = f"{stage.passed} passed"
        if stage.failed:
            note += f", {stage.failed} fell out"
        if stage.not_reached:
            note += f", {stage.not_reached} not yet"
        rows.append((stage.label,
                     [(stage.passed, "pass"), (stage.failed, "violation"),
                      (stage.not_reached, "grey")], note))
    for index, (label, segments, note) in enumerate(rows):
        y = top + index * row
        parts.append(f"<text x='{label_width - 10}' y='{y + 18}' font-size='12' "
                     f"text-anchor='end' fill='{COLOURS['ink']}'>{escape(label)}</text>")
        used = sum(count for count, _ in segments)
        x = label_width + (plot - used * scale) / 2
        for count, colour in segments:
            if count:
                w = count * scale
                parts.append(f"<rect x='{x:.1f}' y='{y + 4}' width='{w:.1f}' height='22' "
                             f"fill='{COLOURS[colour]}'/>")
                if w > 18:
                    parts.append(f"<text x='{x + w / 2:.1f}' y='{y + 19}' font-size='11' "
                                 f"text-anchor='middle' fill='#ffffff'>{count}</text>")
                x += w
        parts.append(f"<text x='{label_width + plot + 10}' y='{y + 19}' font-size='11' "
                     f"fill='{COLOURS['muted']}'>{escape(note)}</text>")
    return _svg(width, height, "".join(parts), title=title, css_class="chart funnel-chart")


@dataclass(frozen=True)
class Event:
    """A point on a system's timeline; kind is `record`, `problem` or `missing`. An event
    without a date is listed under the axis: a missing link, or an undated record (marked so)."""

    when: date | None
    label: str
    kind: str = "record"


def timeline(events: Sequence[Event], *, title: str, as_of: date, width: int = 960) -> Markup:
    """A horizontal timeline of dated records up to the as-of date; incidents and alerts are
    red; missing links are listed under the axis as red dashed markers.

    Labels sit right of their date, or left of it near the end of the axis, in as many rows
    as it takes for no two to overlap.

    >>> svg = timeline([Event(date(2025, 1, 1), "intake"), Event(None, "no plan", "missing")],
    ...                title="t", as_of=date(2026, 6, 30))
    >>> "no plan" in svg and "stroke-dasharray" in svg
    True
    """
    dated = sorted((e for e in events if e.when is not None), key=lambda e: e.when or as_of)
    # undated records first, then the missing links
    missing = sorted((e for e in events if e.when is None), key=lambda e: e.kind == "missing")
    left, right, axis_y, lane_height, char = 16, 16, 40, 15, 6.1
    plot = width - left - right
    start = dated[0].when if dated else as_of
    assert start is not None
    end = as_of if as_of > start else start
    span = max((end - start).days, 1)

    def xpos(when: date) -> float:
        return left + plot * min(max((when - start).days, 0), span) / span

    lanes: list[list[tuple[float, float]]] = []
    placed: list[tuple[Event, str, float, int, bool]] = []
    for event in dated:
        assert event.when is not None
        x = xpos(event.when)
        text = f"{event.when.isoformat()} {_clip(event.label, 48)}"
        text_width = char * len(text)
        after = x + 4 + text_width <= left + plot
        span_ = (x, x + 4 + text_width) if after else (x - 4 - text_width, x)
        lane = next((i for i, used in enumerate(lanes)
                     if all(span_[1] + 6 < a or span_[0] - 6 > b for a, b in used)), len(lanes))
        if lane == len(lanes):
            lanes.append([])
        lanes[lane].append(span_)
        placed.append((event, text, x, lane, after))
    rows = max(len(lanes), 1)
    height = axis_y + 16 + lane_height * rows + 20 * len(missing) + 10
    parts = [
        f"<text x='0' y='14' font-size='12' font-weight='bold' fill='{COLOURS['ink']}'>"
        f"{escape(title)}</text>",
        f"<line x1='{left}' y1='{axis_y}' x2='{left + plot}' y2='{axis_y}' "
        f"stroke='{COLOURS['muted']}' stroke-width='2'/>",
        f"<text x='{left}' y='{axis_y - 10}' font-size='10' fill='{COLOURS['muted']}'>"
        f"{start.isoformat()}</text>",
        f"<text x='{left + plot}' y='{axis_y - 10}' font-size='10' text-anchor='end' "
        f"fill='{COLOURS['muted']}'>as of {as_of.isoformat()}</text>",
    ]
    for event, text, x, lane, after in placed:
        colour = COLOURS["violation"] if event.kind == "problem" else COLOURS["accent"]
        y = axis_y + 16 + lane * lane_height
        anchor = "start" if after else "end"
        tx = x + 4 if after else x - 4
        parts.append(
            f"<line x1='{x:.1f}' y1='{axis_y}' x2='{x:.1f}' y2='{y + 2}' "
            f"stroke='{COLOURS['grid']}'/>"
            f"<circle cx='{x:.1f}' cy='{axis_y}' r='4.5' fill='{colour}'/>"
            f"<text x='{tx:.1f}' y='{y + 6}' font-size='10' text-anchor='{anchor}' "
            f"fill='{colour}'>{escape(text)}</text>"
        )
    y = axis_y + 16 + lane_height * rows + 6
    for event in missing:
        colour = COLOURS["violation"] if event.kind == "missing" else COLOURS["muted"]
        prefix = "missing" if event.kind == "missing" else "no date"
        parts.append(
            f"<rect x='{left}' y='{y}' width='12' height='12' fill='none' "
            f"stroke='{colour}' stroke-dasharray='3 2' stroke-width='1.5'/>"
            f"<text x='{left + 18}' y='{y + 10}' font-size='11' fill='{colour}'>"
            f"{prefix}: {escape(_clip(event.label, 140))}</text>"
        )
        y += 20
    return _svg(width, height, "".join(parts), title=title, css_class="chart timeline")
