"""The audit pack: one self-contained HTML evidence pack an auditor opens, prints and archives.

`build_report` gathers everything from the other parts of the core (validation findings from
mapper.validate, traces and the gate matrix from mapper.trace, the process map from
mapper.processes, registers from the named queries of queries/, batches from the ingest
provenance) and writes, into one folder:

- index.html: inline CSS and SVG only (no script, no network fetch), laid out for A4;
- findings.json (the `aims validate --format json` report) and findings.csv (cells neutralised
  against formula injection);
- graph.ttl: the exact data the pack was built from, serialised deterministically; its SHA-256
  is printed in the pack, so anyone can check the pack against the data and rebuild it.

All data reaches the page through Jinja2 with autoescaping on, so a label such as
`<script>alert(1)</script>` is shown as text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from rdflib import BNode, Graph
from rdflib.compare import to_canonical_graph

from mapper.errors import InputError, MapperError
from mapper.frameworks import soa as soa_lines
from mapper.ingest.batches import list_batches
from mapper.questions import processes, queries
from mapper.questions import trace as tracing
from mapper.report import charts
from mapper.rules.assessment import NO_ONE, PASSED, Assessment, assess
from mapper.rules.catalogue import GATES, rules
from mapper.rules.results import Report
from mapper.store import Store, open_store  # noqa: F401 (doctest)
from mapper.tabular import csv_text

DEFAULT_TRACES = 3
"""How many systems the pack traces when none are chosen."""

SECTIONS = (
    ("cover", "1. Cover"),
    ("lifecycle", "2. The one-page lifecycle"),
    ("funnel", "3. Gate funnel"),
    ("findings", "4. Findings by clause, Annex A control and owner"),
    ("soa", "5. Statement of Applicability"),
    ("traces", "6. End-to-end traces"),
    ("registers", "7. Registers"),
    ("appendix", "8. Appendix: rule catalogue and how to reproduce"),
)
"""The section ids and headings of index.html, in order (the browser test checks them)."""

_PREFIXES = {
    "aims": "https://aims-graph.org/ns#",
    "iso": "https://aims-graph.org/iso42001#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}
_CSV_COLUMNS = ("rule", "clause", "severity", "focus", "focus_label", "path", "value", "owner",
                "message")


@dataclass
class ReportResult:
    """What `build_report` wrote and the figures it printed on the cover."""

    out: Path
    index: Path
    findings_json: Path
    findings_csv: Path
    graph_ttl: Path
    assessment_json: Path
    data_hash: str
    conforms: bool
    violations: int
    warnings: int
    systems: list[str] = field(default_factory=list)
    pdf: Path | None = None


# --- the data file ---------------------------------------------------------------------------


def graph_turtle(store: Store) -> bytes:
    """The store's data graphs (ontology excluded) as Turtle, the same bytes for the same data.

    Blank nodes are relabelled canonically first, so the bytes do not depend on how a store
    happened to name them.

    >>> from mapper.store import open_store
    >>> store = open_store("memory")
    >>> store.load(b'<urn:x:a> <urn:x:p> [ <urn:x:q> "1" ] .', format="turtle", graph="urn:g")
    >>> graph_turtle(store) == graph_turtle(store)
    True
    """
    return _serialise(store.to_graph())


def _serialise(graph: Graph) -> bytes:
    if any(isinstance(term, BNode) for triple in graph for term in triple):
        canonical = Graph()
        for triple in to_canonical_graph(graph):
            canonical.add(triple)
        graph = canonical
    for prefix, namespace in _PREFIXES.items():
        graph.bind(prefix, namespace, override=True)
    return graph.serialize(format="longturtle", encoding="utf-8")


# --- gathering -------------------------------------------------------------------------------


_CONCATENATED = {"actions": "; ", "approver_label": "; ", "attendees": "; ", "compensating": "; ",
                 "inputs": "; ", "owner_label": "; ", "system_label": "; ",
                 "trigger_label": "; ", "risk_level": ", "}
"""Columns the report-* queries fill with GROUP_CONCAT, whose order SPARQL leaves open."""


def register_rows(store: Store, name: str, **params: object) -> list[dict[str, Any]]:
    """Rows of a named query as plain values, with GROUP_CONCAT lists sorted (same data, same
    page).

    >>> register_rows(open_store("memory"), "report-exceptions", as_of=date(2026, 6, 30))
    []
    """
    rows = queries.result_dicts(queries.run(store, name, params))
    for row in rows:
        for column, separator in _CONCATENATED.items():
            value = row.get(column)
            if isinstance(value, str) and separator in value:
                row[column] = separator.join(sorted(value.split(separator)))
    return rows


_rows = register_rows


def _clause_key(notation: str) -> tuple[int, list[int], str]:
    annex = notation.startswith("A.")
    numbers = [int(p) for p in notation.removeprefix("A.").split(".") if p.isdigit()]
    return (1 if annex else 0, numbers, notation)


def _sha256_of_graph(store: Store, graph: str) -> tuple[str, int]:
    lines = sorted(
        f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o, _ in store.quads(graph)  # type: ignore[union-attr]
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest(), len(lines)


def _batches(store: Store) -> list[dict[str, Any]]:
    """The current ingest batches; without ingest provenance, the named graphs and their hash."""
    found = [b.as_dict() for b in list_batches(store, recover_first=False)
             if b.status == "current"]
    if found:
        return found
    out = []
    for graph in store.graphs():
        if graph.startswith("urn:aims:graph:"):
            continue
        digest, count = _sha256_of_graph(store, graph)
        out.append({"batch": graph, "graph": graph, "source": "(loaded without ingest)",
                    "sha256": digest, "triples": count, "records": None, "rejected": None,
                    "time": None, "actor": None, "status": "current",
                    "hash_note": "SHA-256 of the graph's sorted N-Triples"})
    return out


def _clause_titles(store: Store) -> dict[str, str]:
    return {str(r["notation"]): str(r["title"] or "")
            for r in _rows(store, "evidence-by-clause")}


def _findings_by_clause(report: Report, titles: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rule_sets: dict[str, set[str]] = defaultdict(set)
    for finding in report.findings:
        for clause in finding.clause:
            counts[clause][finding.severity] += 1
            rule_sets[clause].add(finding.rule)
    groups: dict[str, list[dict[str, Any]]] = {"clauses": [], "controls": []}
    for clause in sorted(counts, key=_clause_key):
        row = {"clause": clause, "title": titles.get(clause, ""),
               "violations": counts[clause]["Violation"], "warnings": counts[clause]["Warning"],
               "info": counts[clause]["Info"], "rules": sorted(rule_sets[clause])}
        groups["controls" if clause.startswith("A.") else "clauses"].append(row)
    return groups


def _findings_by_person(verdict: Assessment) -> list[dict[str, Any]]:
    """The assessment's findings per responsible person, the most findings first."""
    out = []
    for person, items in verdict.by_person().items():
        severities = Counter(f.severity for f in items)
        out.append({"owner": person, "has_owner": person != NO_ONE,
                    "violations": severities["Violation"], "warnings": severities["Warning"],
                    "findings": sorted(items, key=lambda f: (f.severity != "Violation", f.rule,
                                                             f.focus_label))})
    return sorted(out, key=lambda o: (not o["has_owner"], -(o["violations"] + o["warnings"]),
                                      o["owner"]))


def _funnel(verdict: Assessment) -> dict[str, Any]:
    """Per gate, cumulatively: the systems that passed every gate so far, fell out here, or are
    not there yet; the statuses are the assessment's (mapper.rules.assessment)."""
    remaining = list(verdict.systems)
    stages: list[charts.FunnelStage] = []
    fell_out: list[dict[str, Any]] = []
    for gate in GATES:
        failed = [s for s in remaining if s.gate(gate).status == "fail"]
        waiting = [s for s in remaining if s.gate(gate).status == "not reached"]
        passed = [s for s in remaining if s.gate(gate).status in PASSED]
        stages.append(charts.FunnelStage(gate, len(passed), len(failed), len(waiting)))
        fell_out.append({
            "gate": gate,
            "failed": [{"identifier": s.identifier, "label": s.label, "owner": s.owner,
                        "missing": [f"{f.message} [{f.rule}]" for f in s.gate(gate).findings]}
                       for s in failed],
            "waiting": [{"identifier": s.identifier, "label": s.label,
                         "stage": s.stage or "not stated"} for s in waiting],
        })
        remaining = passed
    total = len(verdict.systems)
    return {
        "total": total,
        "passed_all": len(remaining),
        "stages": stages,
        "gates": fell_out,
        "chart": charts.funnel_chart(total, stages,
                                     title="In-scope AI systems through the four gates"),
        "other": [{"identifier": s.identifier, "label": s.label, "order": s.order,
                   "supplier": [f"{f.message} [{f.rule}]" for f in s.supplier]}
                  for s in verdict.systems if s.order or s.supplier],
    }


def _choose_systems(store: Store, verdict: Assessment, inventory: list[dict[str, Any]],
                    wanted: list[str] | None) -> list[str]:
    """IRIs of the systems to trace: the ones asked for, else the highest-risk deployed ones.

    Highest risk: highest risk level classified, then most findings concerning the system,
    then identifier (the findings concerning a system are the assessment's).
    """
    if wanted:
        systems = tracing.inventory(store)
        chosen = [tracing.find_system(store, key, systems=systems)["system"] for key in wanted]
        return list(dict.fromkeys(chosen))
    deployed = [r for r in inventory if r["in_scope"] and r["stage"] == "deployed"]
    if not deployed:
        return []
    ranks = sorted((int(r["risk_rank"] or 0) for r in deployed), reverse=True)
    floor = ranks[min(DEFAULT_TRACES, len(ranks)) - 1]
    candidates = [r for r in deployed if int(r["risk_rank"] or 0) >= floor][:50]

    def findings_of(system: str) -> int:
        return len(verdict.concerning.get(system, []))

    scored = sorted(candidates, key=lambda r: (-int(r["risk_rank"] or 0),
                                               -findings_of(r["system"]),
                                               r["identifier"] or r["system"]))
    return [r["system"] for r in scored[:DEFAULT_TRACES]]


_ALERT_STEPS = {"incident", "monitoring alert"}


def _trace(store: Store, system: str, as_of: date) -> dict[str, Any]:
    found = tracing.trace_system(store, system, as_of=as_of)
    events: list[charts.Event] = []
    for step in found.steps:
        when = _as_date(step.date)
        kind = "problem" if step.step in _ALERT_STEPS else "record"
        events.append(charts.Event(when, step.step if when else f"{step.step} {step.label}",
                                   kind))
    events.extend(charts.Event(None, f"{gap.area}: {gap.message}", "missing")
                  for gap in found.gaps)
    title = f"{found.identifier or found.system} {found.label}".strip()
    return {"trace": found, "anchor": "trace-" + re.sub(r"[^A-Za-z0-9]+", "-",
                                                         found.identifier or found.system),
            "chart": charts.timeline(events, title=title, as_of=as_of)}


def _as_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _trend_chart(store: Store, as_of: date) -> Markup:
    """Findings at the four quarter dates up to the as-of date (mapper.frameworks.trend)."""
    from mapper.frameworks import trend

    points = trend.trend(store, start=trend.months_before(as_of, 9), end=as_of,
                         every="quarter")
    return charts.bar_chart(
        [charts.Bar(p.as_of.isoformat(), p.by_severity.get("Violation", 0),
                    p.by_severity.get("Warning", 0)) for p in points],
        title="Findings at each quarter up to the as-of date", label_width=120)


def _process_map(store: Store) -> dict[str, Any]:
    pm = processes.build(store)
    data = processes.to_json(pm)
    svg: Markup | None = None
    error = ""
    try:
        svg = _inline_svg(processes.to_svg(pm))
    except MapperError as exc:  # Graphviz missing or failing: the tables below still hold
        error = str(exc)
    labels = {n["id"]: n["label"] for n in data["nodes"]}
    problems = [{"severity": p.severity, "rule": p.rule or "", "message": p.message,
                 "focus": labels.get(p.focus, "")} for p in pm.problems]
    handoffs = [
        {"from": labels.get(e["from"], e["from"]), "to": labels.get(e["to"], e["to"]),
         "records": e["records"]}
        for e in data["edges"]
    ]
    nodes = [{"label": n["label"],
              "owners": ", ".join(o["label"] for o in n["owners"]) or "none",
              "problems": n["problems"]} for n in data["nodes"]]
    return {"svg": svg, "error": error, "problems": problems, "handoffs": handoffs,
            "nodes": nodes}


_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _inline_svg(svg: str) -> Markup:
    """Graphviz SVG made fit to be inlined: no prolog, no doctype (it names a DTD URL), no
    comments, scaled by CSS. Graphviz escapes the labels itself (XML entities)."""
    body = _COMMENT.sub("", _PROLOG.sub("", svg, count=1))
    body = body.replace("<svg ", "<svg class=\"process-map\" role=\"img\" ", 1)
    return Markup(body.strip())  # noqa: S704 - Graphviz output, labels already XML-escaped


def _raci(store: Store) -> list[dict[str, Any]]:
    by_process: dict[str, dict[str, Any]] = {}
    for row in _rows(store, "raci-matrix"):
        entry = by_process.setdefault(row["process"], {
            "process": row["process_label"] or row["process"],
            "A": [], "R": [], "C": [], "I": []})
        name = row["assignee_label"] or row["assignee"]
        if name not in entry[row["raci"]]:
            entry[row["raci"]].append(name)
    for entry in by_process.values():
        entry["accountable_problem"] = len(entry["A"]) != 1
    return sorted(by_process.values(), key=lambda e: e["process"].lower())


def _reviews(store: Store, as_of: date) -> list[dict[str, Any]]:
    reviews: dict[str, dict[str, Any]] = {}
    for row in _rows(store, "report-management-reviews", as_of=as_of):
        review = reviews.setdefault(row["review"], {**row, "actions": []})
        if row["action"]:
            review["actions"].append(row)
    return list(reviews.values())


def gather(store: Store, *, as_of: date, systems: list[str] | None = None,
           verdict: Assessment | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain data, rendered from the assessment."""
    verdict = verdict or assess(store, as_of=as_of)
    report = verdict.report
    inventory = _rows(store, "report-inventory")
    chosen = _choose_systems(store, verdict, inventory, systems)
    titles = _clause_titles(store)
    by_clause = _findings_by_clause(report, titles)
    severity = report.summary["by_severity"]
    organisation = _rows(store, "report-organisation")
    rule_counts = Counter(f.rule for f in report.findings)
    catalogue = [{**r.to_dict(), "findings": rule_counts.get(r.id, 0)} for r in rules()]
    return {
        "as_of": as_of.isoformat(),
        "organisation": organisation[0] if organisation else dict.fromkeys(
            queries.get("report-organisation").columns),
        "scope_statements": organisation,
        "exclusions": _rows(store, "report-scope-exclusions"),
        "batches": _batches(store),
        "report": report,
        "summary": verdict.summary,
        "violations": severity.get("Violation", 0),
        "warnings": severity.get("Warning", 0),
        "infos": severity.get("Info", 0),
        "rules_failed": sorted({f.rule for f in report.findings if f.severity == "Violation"}),
        "process_map": _process_map(store),
        "funnel": _funnel(verdict),
        "by_clause": by_clause,
        "clause_chart": charts.bar_chart(
            [charts.Bar(f"{r['clause']} {r['title']}".strip(), r["violations"], r["warnings"])
             for r in by_clause["clauses"]], title="Findings per clause"),
        "control_chart": charts.bar_chart(
            [charts.Bar(f"{r['clause']} {r['title']}".strip(), r["violations"], r["warnings"])
             for r in by_clause["controls"]], title="Findings per Annex A control"),
        "by_owner": _findings_by_person(verdict),
        "soa": soa_lines.build(store, as_of=as_of, assessment=verdict).to_dict(),
        "trend_chart": _trend_chart(store, as_of),
        "traces": [_trace(store, system, as_of) for system in chosen],
        "inventory": inventory,
        "raci": _raci(store),
        "exceptions": _rows(store, "report-exceptions", as_of=as_of),
        "corrective_actions": _rows(store, "report-corrective-actions", as_of=as_of),
        "incidents": _rows(store, "report-incidents"),
        "reviews": _reviews(store, as_of),
        "training": _rows(store, "report-training", as_of=as_of),
        "documents": _rows(store, "report-documents", as_of=as_of),
        "rules": catalogue,
        "sections": SECTIONS,
    }


# --- rendering -------------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("mapper.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["dash"] = lambda value: "\u2014" if value in (None, "") else value
    env.filters["yesno"] = lambda value: "yes" if value else "no"
    return env


def _version() -> str:
    try:
        return metadata.version("aims-graph")
    except metadata.PackageNotFoundError:
        return "unknown"


def render(context: dict[str, Any]) -> str:
    """index.html from the gathered data (templates/report.html.j2, CSS inlined)."""
    env = _environment()
    css = env.loader.get_source(env, "report.css")[0] if env.loader else ""
    return env.get_template("report.html.j2").render(**context, css=Markup(css),
                                                     version=_version())


def findings_csv(report: Report) -> str:
    """The findings as CSV, one row per finding; cells a spreadsheet could run are neutralised.

    >>> from mapper.rules.results import Report, Finding
    >>> f = Finding("R-1", ["4.4"], "Violation", "urn:x", "=HYPERLINK(1)", None, None, None, "m")
    >>> findings_csv(Report(date(2026, 6, 30), [f])).splitlines()[1]
    "R-1,4.4,Violation,urn:x,'=HYPERLINK(1),,,,m"
    """
    rows = []
    for finding in report.findings:
        row = finding.to_dict()
        row["clause"] = "; ".join(finding.clause)
        rows.append([row[c] for c in _CSV_COLUMNS])
    return csv_text(_CSV_COLUMNS, rows, lineterminator="\n")


def reproduce_command(*, out: Path | str, as_of: date, systems: list[str] | None) -> str:
    """The command line that rebuilds the pack from the same store.

    >>> reproduce_command(out="pack", as_of=date(2026, 6, 30), systems=["A", "B"])
    'aims report --out pack --as-of 2026-06-30 --systems A,B'
    """
    command = f"aims report --out {out} --as-of {as_of.isoformat()}"
    if systems:
        command += " --systems " + ",".join(systems)
    return command


def _write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        f.write(data)
        temp = Path(f.name)
    os.chmod(temp, 0o644)  # NamedTemporaryFile makes 0600 files; the pack is meant to be shared
    os.replace(temp, path)


def build_report(
    store: Store, *, out: Path, as_of: date, systems: list[str] | None = None,
    walkthrough: str | None = None,
) -> ReportResult:
    """Write the audit pack into `out` (created when missing) and say what was written.

    Nothing is written when gathering fails (an unknown system, for example).

    >>> from mapper.store import open_store
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> result = build_report(open_store("memory"), out=folder, as_of=date(2026, 6, 30))
    >>> result.index.name, result.conforms, len(result.data_hash)
    ('index.html', False, 64)
    """
    data = store.to_graph()
    triples = len(data)
    ttl = _serialise(data)
    data_hash = hashlib.sha256(ttl).hexdigest()
    verdict = assess(store, as_of=as_of)
    report = verdict.report
    context = gather(store, as_of=as_of, systems=systems, verdict=verdict)
    traced = [t["trace"].identifier or t["trace"].system for t in context["traces"]]
    context.update(
        data_hash=data_hash,
        data_bytes=len(ttl),
        triples=triples,
        command=reproduce_command(out=out, as_of=as_of, systems=traced if systems else None),
        systems_given=bool(systems),
        walkthrough=walkthrough,
    )
    html = render(context)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc}", ref=str(out)) from None
    result = ReportResult(
        out=out, index=out / "index.html", findings_json=out / "findings.json",
        findings_csv=out / "findings.csv", graph_ttl=out / "graph.ttl",
        assessment_json=out / "assessment.json", data_hash=data_hash,
        conforms=report.conforms, violations=context["violations"],
        warnings=context["warnings"], systems=traced,
    )
    _write(result.graph_ttl, ttl)
    _write(result.findings_json, (json.dumps(verdict.validation_dict(), indent=2,
                                             ensure_ascii=False)
                                  + "\n").encode("utf-8"))
    _write(result.findings_csv, findings_csv(report).encode("utf-8"))
    _write(result.assessment_json, (json.dumps(verdict.to_dict(), indent=2, ensure_ascii=False)
                                    + "\n").encode("utf-8"))
    _write(result.index, html.encode("utf-8"))
    return result


# --- PDF -------------------------------------------------------------------------------------


def chromium_path() -> str | None:
    """The Chromium (or Chrome) executable on PATH, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_flags(profile: Path) -> list[str]:
    """Flags for a quiet headless Chromium that fetches nothing by itself."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--no-first-run",
            "--no-default-browser-check", "--mute-audio", f"--user-data-dir={profile}"]


def print_pdf(index: Path, pdf: Path, *, timeout: float = 120) -> Path:
    """Print index.html to PDF (A4, as laid out by the pack's @page rules) with headless Chromium.

    InputError when no Chromium is installed; MapperError when it fails.
    """
    browser = chromium_path()
    if browser is None:
        raise InputError("--pdf needs Chromium: install it (`apt-get install chromium`) or "
                         "print index.html from any browser")
    with tempfile.TemporaryDirectory(prefix="aims-chromium-") as profile:
        command = [browser, *chromium_flags(Path(profile)), "--no-pdf-header-footer",
                   f"--print-to-pdf={pdf.resolve()}", index.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise MapperError(f"Chromium took more than {timeout:.0f} s to print the pack") \
                from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise MapperError("Chromium could not print the pack to PDF: " + " | ".join(tail))
    return pdf


__all__ = ["SECTIONS", "ReportResult", "build_report", "findings_csv", "gather",
           "graph_turtle", "print_pdf", "register_rows", "render", "reproduce_command"]
