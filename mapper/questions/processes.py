"""The process map: the AIMS processes and their hand-offs as a networkx graph, and its analysis.

This is the only module that imports networkx. The map is built from three named queries
(`processes`, `process-interactions`, `process-lifecycle`), so it sees exactly what the rules
and the other queries see. The analysis finds what the PROC rules of shapes/README.md look for
(islands PROC-04, hand-offs nobody consumes PROC-05, lifecycle and feedback gaps PROC-06, owner
problems PROC-02, missing minimum processes PROC-01) and what only a graph shows: whether the
lifecycle intake -> ... -> corrective action is one connected path, which processes it cannot
lose (single points of failure), and owners accountable for many processes.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from mapper.errors import InputError, MapperError
from mapper.questions import queries
from mapper.questions.queries import plain, text
from mapper.store import Store
from mapper.vocab import AIMS

INTAKE = str(AIMS.IntakeAndInventory)
IMPROVEMENT = str(AIMS.CorrectiveActionAndImprovement)
SIDE_POSITIONS = {
    str(AIMS.DataAndDesignControls): 1.5,
    str(AIMS.IncidentManagement): 4.5,
    str(AIMS.RecordsAndDocumentControl): 6.0,
    str(AIMS.TrainingAndCompetency): 6.0,
}
"""Where the minimum processes outside the lifecycle chain sit on the drawing (chain = 0..5)."""
OWNER_CONCENTRATION = 3
"""A person accountable for this many processes or more is reported (Info)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the process map; `rule` names the PROC rule it matches, if any."""

    kind: str
    severity: str
    focus: str
    message: str
    rule: str | None = None


@dataclass
class ProcessMap:
    """The graph (nodes: process IRIs; edges: hand-offs with their records) and its analysis."""

    graph: nx.DiGraph
    type_labels: dict[str, str] = field(default_factory=dict)
    lifecycle: list[tuple[str, str]] = field(default_factory=list)
    feedback: dict[str, list[str]] = field(default_factory=dict)
    minimum_types: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def realisers(self, process_type: str) -> list[str]:
        """The processes that realise a minimum process type."""
        return sorted(n for n, d in self.graph.nodes(data=True) if process_type in d["types"])

    def lifecycle_order(self) -> dict[str, int]:
        """Position of each minimum process type along the lifecycle chain (intake = 0)."""
        chain = nx.DiGraph(self.lifecycle)
        if not chain or not nx.is_directed_acyclic_graph(chain):
            return {}
        return {t: i for i, t in enumerate(nx.topological_sort(chain))}


# --- building --------------------------------------------------------------------------------


def build(store: Store) -> ProcessMap:
    """The analysed process map of the organisation in the store.

    >>> from mapper.store import open_store
    >>> pm = build(open_store("memory"))
    >>> pm.graph.number_of_nodes(), sorted({p.rule for p in pm.problems})
    (0, ['PROC-01'])
    """
    graph = nx.DiGraph()
    for row in queries.run(store, "processes").dicts():
        node = str(row["process"])
        data = graph.nodes[node] if node in graph else _new_node(graph, node)
        if row["label"] is not None:
            data["label"] = str(row["label"])
        if row["type"] is not None and str(row["type"]) not in data["types"]:
            data["types"].append(str(row["type"]))
        if row["owner"] is not None:
            owner = {"id": str(row["owner"]), "label": text(row["owner_label"]) or _local(
                str(row["owner"])), "is_person": bool(plain(row["owner_is_person"]))}
            if owner not in data["owners"]:
                data["owners"].append(owner)
    for row in queries.run(store, "process-interactions").dicts():
        source, target = str(row["from_process"]), str(row["to_process"])
        for node, label, kind in ((source, row["from_label"], row["from_type"]),
                                  (target, row["to_label"], row["to_type"])):
            if node not in graph:
                data = _new_node(graph, node)
                data["label"] = text(label) or _local(node)
                if kind is not None:
                    data["types"].append(str(kind))
        if not graph.has_edge(source, target):
            graph.add_edge(source, target, records=[])
        record = {
            "interaction": str(row["interaction"]),
            "id": text(row["record_type"]) or None,
            "label": text(row["record_label"]) or _local(text(row["record_type"])) or "(no record)",
            "consumed": bool(plain(row["consumed"])),
            "retained": bool(plain(row["retained"])),
        }
        if record not in graph.edges[source, target]["records"]:
            graph.edges[source, target]["records"].append(record)
    pm = ProcessMap(graph=graph)
    for row in queries.run(store, "process-lifecycle").dicts():
        source = str(row["from_type"])
        pm.type_labels[source] = text(row["from_label"]) or _local(source)
        if row["relation"] is not None and str(row["relation"]) == "type":
            pm.minimum_types.append(source)
        elif row["to_type"] is not None:
            target = str(row["to_type"])
            pm.type_labels[target] = text(row["to_label"]) or _local(target)
            if str(row["relation"]) == "next":
                pm.lifecycle.append((source, target))
            else:
                pm.feedback.setdefault(source, []).append(target)
    pm.problems = analyse(pm)
    return pm


def _new_node(graph: nx.DiGraph, node: str) -> dict[str, Any]:
    graph.add_node(node, label=_local(node), types=[], owners=[])
    data: dict[str, Any] = graph.nodes[node]
    return data


def _local(iri: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in iri:
            tail = iri.rsplit(sep, 1)[1]
            if tail:
                return tail
    return iri


# --- analysis --------------------------------------------------------------------------------


def analyse(pm: ProcessMap) -> list[Problem]:
    """Every problem of the map, sorted by rule, focus and message."""
    graph = pm.graph
    problems: list[Problem] = []
    label = _labeller(pm)
    for kind in pm.minimum_types:
        if not pm.realisers(kind):
            problems.append(Problem("missing-process", "Violation", kind,
                                    f"no process realises '{label(kind)}'", "PROC-01"))
    for node, data in graph.nodes(data=True):
        owners = data["owners"]
        if len(owners) != 1:
            what = "no accountable owner" if not owners else "more than one accountable owner"
            problems.append(Problem("owner", "Violation", node,
                                    f"'{data['label']}' has {what}", "PROC-02"))
        elif not owners[0]["is_person"]:
            problems.append(Problem("owner", "Violation", node,
                                    f"'{data['label']}' is owned by '{owners[0]['label']}', "
                                    "who is not a person", "PROC-02"))
        if graph.degree(node) == 0:
            problems.append(Problem("island", "Violation", node,
                                    f"'{data['label']}' hands nothing over and receives nothing",
                                    "PROC-04"))
    for source, target, data in graph.edges(data=True):
        for record in data["records"]:
            if record["id"] and not record["consumed"] and not record["retained"]:
                problems.append(Problem(
                    "unconsumed", "Warning", record["interaction"],
                    f"'{record['label']}' handed from '{graph.nodes[source]['label']}' to "
                    f"'{graph.nodes[target]['label']}' is neither an input of the receiver nor "
                    "retained by any process", "PROC-05"))
    for first, second in pm.lifecycle:
        sources, targets = pm.realisers(first), pm.realisers(second)
        if sources and targets and not _linked(graph, sources, targets):
            for node in sources:
                problems.append(Problem(
                    "lifecycle-gap", "Violation", node,
                    f"no hand-off from '{label(first)}' to '{label(second)}' "
                    f"('{graph.nodes[node]['label']}' is a '{label(first)}' process)", "PROC-06"))
    for source_type, targets_types in pm.feedback.items():
        sources = pm.realisers(source_type)
        targets = sorted({n for t in targets_types for n in pm.realisers(t)})
        if sources and not _linked(graph, sources, targets):
            for node in sources:
                problems.append(Problem(
                    "no-feedback", "Violation", node,
                    f"'{graph.nodes[node]['label']}' feeds nothing back into an earlier "
                    "process: the improvement loop is open", "PROC-06"))
    problems.extend(_chain_problems(pm))
    problems.extend(_owner_concentration(pm))
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    return sorted(set(problems), key=lambda p: (p.rule or "~", order.get(p.severity, 3),
                                                p.kind, p.focus, p.message))


def _labeller(pm: ProcessMap) -> Any:
    def label(kind: str) -> str:
        return pm.type_labels.get(kind, _local(kind))
    return label


def _linked(graph: nx.DiGraph, sources: list[str], targets: list[str]) -> bool:
    return any(graph.has_edge(s, t) for s in sources for t in targets)


def _reachable(graph: nx.DiGraph, sources: list[str], targets: list[str]) -> bool:
    wanted = set(targets)
    return any(wanted & (nx.descendants(graph, s) | {s}) for s in sources if s in graph)


def _chain_problems(pm: ProcessMap) -> list[Problem]:
    """Lifecycle connectivity (intake reaches improvement) and its single points of failure."""
    graph = pm.graph
    starts, ends = pm.realisers(INTAKE), pm.realisers(IMPROVEMENT)
    if not starts or not ends:
        return []
    problems: list[Problem] = []
    if not _reachable(graph, starts, ends):
        problems.append(Problem(
            "broken-chain", "Violation", INTAKE,
            "no chain of hand-offs leads from AI intake to corrective action and improvement"))
        return problems
    for node in sorted(graph.nodes):
        if node in starts or node in ends:
            continue
        reduced = graph.subgraph(n for n in graph.nodes if n != node)
        if not _reachable(reduced, starts, ends):
            problems.append(Problem(
                "single-point", "Info", node,
                f"'{graph.nodes[node]['label']}' is the only link between intake and "
                "improvement: losing it disconnects the lifecycle"))
    return problems


def _owner_concentration(pm: ProcessMap) -> list[Problem]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for _, data in pm.graph.nodes(data=True):
        for owner in data["owners"]:
            counts[(owner["id"], owner["label"])] += 1
    return [
        Problem("owner-concentration", "Info", owner,
                f"'{name}' is accountable for {count} processes")
        for (owner, name), count in sorted(counts.items())
        if count >= OWNER_CONCENTRATION
    ]


def problem_foci(pm: ProcessMap, *, serious: bool = False) -> dict[str, list[Problem]]:
    """Problems keyed by the node (process or interaction) they are about.

    With `serious`, only violations and warnings (what the drawings highlight).
    """
    result: dict[str, list[Problem]] = defaultdict(list)
    for problem in pm.problems:
        if serious and problem.severity == "Info":
            continue
        result[problem.focus].append(problem)
    return dict(result)


# --- output ----------------------------------------------------------------------------------


def _node_ids(pm: ProcessMap) -> dict[str, str]:
    order = _positions(pm)

    def key(node: str) -> tuple[float, str, str]:
        types = pm.graph.nodes[node]["types"]
        rank = min((order[t] for t in types if t in order), default=99.0)
        return (rank, pm.graph.nodes[node]["label"].lower(), node)

    return {node: f"p{i}" for i, node in enumerate(sorted(pm.graph.nodes, key=key))}


def _owner_text(data: dict[str, Any]) -> str:
    owners = data["owners"]
    if not owners:
        return "owner: none"
    return "owner: " + ", ".join(sorted(o["label"] for o in owners))


def _edge_text(data: dict[str, Any]) -> str:
    return ", ".join(sorted(r["label"] for r in data["records"]))


def _edge_flagged(pm: ProcessMap, data: dict[str, Any]) -> bool:
    foci = problem_foci(pm, serious=True)
    return any(r["interaction"] in foci for r in data["records"])


def _mermaid_text(value: str) -> str:
    out = value.replace("#", "#35;").replace("&", "#38;").replace('"', "#quot;")
    out = out.replace("<", "#lt;").replace(">", "#gt;")
    return " ".join(out.split())


def to_mermaid(pm: ProcessMap) -> str:
    """The map as a Mermaid flowchart (left to right; problems in red, dashed when unconsumed).

    >>> from mapper.store import open_store
    >>> to_mermaid(build(open_store("memory"))).splitlines()[0]
    'flowchart LR'
    """
    ids = _node_ids(pm)
    foci = problem_foci(pm, serious=True)
    lines = ["flowchart LR"]
    for node, nid in sorted(ids.items(), key=lambda item: int(item[1][1:])):
        data = pm.graph.nodes[node]
        label = _mermaid_text(data["label"]) + "<br/>" + _mermaid_text(_owner_text(data))
        lines.append(f'    {nid}["{label}"]')
    flagged_links: list[int] = []
    for index, (source, target, data) in enumerate(_sorted_edges(pm, ids)):
        arrow = "-.->" if _edge_flagged(pm, data) else "-->"
        if _edge_flagged(pm, data):
            flagged_links.append(index)
        label = _mermaid_text(_edge_text(data))
        lines.append(f'    {ids[source]} {arrow}|"{label}"| {ids[target]}')
    lines.append("    classDef problem fill:#fde2e2,stroke:#c0392b,stroke-width:2px")
    flagged = sorted((ids[n] for n in foci if n in ids), key=lambda i: int(i[1:]))
    if flagged:
        lines.append(f"    class {','.join(flagged)} problem")
    for index in flagged_links:
        lines.append(f"    linkStyle {index} stroke:#c0392b,stroke-width:2px")
    return "\n".join(lines) + "\n"


def _sorted_edges(pm: ProcessMap, ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    return sorted(pm.graph.edges(data=True),
                  key=lambda e: (int(ids[e[0]][1:]), int(ids[e[1]][1:])))


def _dot_text(value: str) -> str:
    return " ".join(value.replace("\\", "\\\\").replace('"', '\\"').split())


ROW = 3
"""Boxes per row of the drawing, in lifecycle order: the map wraps into rows so that it fits
an A4 landscape page with its text at 8 pt or more (one row of all of them was 3,391 pt
wide, its labels 3-4 pt in the pack's PDF)."""
WRAP = 24
"""Characters per line of a box or hand-off label."""

_SHORT = {
    "missing-process": "no process realises it",
    "owner": "owner is not one person",
    "island": "island: no hand-offs",
    "unconsumed": "record not consumed",
    "lifecycle-gap": "lifecycle gap after it",
    "broken-chain": "no chain from intake to improvement",
    "no-records": "declares no records",
}
"""What a red box says about each kind of problem (the rule id follows)."""


def _wrapped(value: str, width: int = WRAP) -> str:
    """DOT text broken into lines of about `width` characters, between words."""
    return "\\n".join(_dot_text(line) for line in textwrap.wrap(" ".join(value.split()), width)
                       or [""])


def _why(problems: list[Problem]) -> list[str]:
    """The short reasons a box is red, one per problem: "island: no hand-offs (PROC-04)"."""
    out = []
    for p in problems:
        text = _SHORT.get(p.kind, p.kind.replace("-", " "))
        line = f"{text} ({p.rule})" if p.rule else text
        if line not in out:
            out.append(line)
    return out


def to_dot(pm: ProcessMap) -> str:
    """The map as Graphviz DOT: the lifecycle in reading order, wrapped into rows of ROW
    columns (top to bottom); a red box says why it is red and names the rule; a minimum
    process that nothing realises is drawn as a dashed placeholder; feedback edges do not
    constrain the layout.

    >>> from mapper.store import open_store
    >>> to_dot(build(open_store("memory"))).splitlines()[0]
    'digraph aims_processes {'
    """
    ids = _node_ids(pm)
    foci = problem_foci(pm, serious=True)
    order = _positions(pm)
    lines = [
        "digraph aims_processes {",
        '  graph [rankdir=TB, nodesep=0.35, ranksep=0.6, fontname="Helvetica", fontsize=13, '
        'label="AIMS process map: the lifecycle left to right, row by row.\\nRed: a problem '
        '(what and which rule, inside the box); dashed: a record not consumed, a missing '
        'process.", labelloc=t, newrank=true];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef4fb", color="#2c3e50", '
        'fontname="Helvetica", fontsize=12, margin="0.12,0.06"];',
        '  edge [fontname="Helvetica", fontsize=12, color="#34495e"];',
    ]
    columns: dict[float, list[str]] = defaultdict(list)
    for node, nid in sorted(ids.items(), key=lambda item: int(item[1][1:])):
        data = pm.graph.nodes[node]
        label = _wrapped(data["label"]) + "\\n" + _wrapped(_owner_text(data))
        style = ""
        if node in foci:
            why = "\\n".join(_wrapped("! " + w) for w in _why(foci[node]))
            label += "\\n" + why
            style = ', fillcolor="#fde2e2", color="#c0392b", penwidth=2'
        lines.append(f'  {nid} [label="{label}"{style}];')
        columns[_rank(pm, order, node)].append(nid)
    labels = _labeller(pm)
    for n, (kind, problems) in enumerate(sorted(
            (f, ps) for f, ps in foci.items()
            if f not in ids and any(p.kind == "missing-process" for p in ps))):
        nid = f"m{n}"
        label = _wrapped(f"missing: {labels(kind)}") + "\\n" + "\\n".join(
            _wrapped("! " + w) for w in _why(problems))
        lines.append(f'  {nid} [label="{label}", style="rounded,dashed,filled", '
                     'fillcolor="#ffffff", color="#c0392b", fontcolor="#c0392b", penwidth=2];')
        columns[order.get(kind, 99.0)].append(nid)
    ordered = [m for _, members in sorted(columns.items()) for m in members]
    firsts = []
    for start in range(0, len(ordered), ROW):
        members = ordered[start:start + ROW]
        lines.append("  { rank=same; " + " ".join(members) + " }")
        # invisible edges keep the columns of a row in lifecycle order
        for left, right in zip(members, members[1:], strict=False):
            lines.append(f"  {left} -> {right} [style=invis];")
        firsts.append(members[0])
    for upper, lower in zip(firsts, firsts[1:], strict=False):
        lines.append(f"  {upper} -> {lower} [style=invis, weight=5];")
    for source, target, data in _sorted_edges(pm, ids):
        attrs = [f'label="{_wrapped(_edge_text(data), 20)}"']
        if _edge_flagged(pm, data):
            attrs.append('color="#c0392b", fontcolor="#c0392b", style=dashed, penwidth=2')
        if _rank(pm, order, target) < _rank(pm, order, source):
            attrs.append("constraint=false")
        lines.append(f"  {ids[source]} -> {ids[target]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _positions(pm: ProcessMap) -> dict[str, float]:
    """Left-to-right position of each minimum process type on the drawing."""
    order: dict[str, float] = {t: float(i) for t, i in pm.lifecycle_order().items()}
    if order:
        for kind, position in SIDE_POSITIONS.items():
            order.setdefault(kind, position)
    return order


def _rank(pm: ProcessMap, order: dict[str, float], node: str) -> float:
    return min((order[t] for t in pm.graph.nodes[node]["types"] if t in order), default=-1.0)


def to_svg(pm: ProcessMap) -> str:
    """The map as SVG, drawn by Graphviz's `dot` (MapperError when Graphviz is missing)."""
    dot = shutil.which("dot")
    if dot is None:
        raise InputError("--format svg needs Graphviz: install it (`apt-get install graphviz`) "
                         "or use --format dot / mermaid")
    try:
        done = subprocess.run([dot, "-Tsvg"], input=to_dot(pm).encode("utf-8"),
                              capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise MapperError("Graphviz took more than 60 s to draw the map") from None
    if done.returncode != 0:
        raise MapperError(f"Graphviz failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout.decode("utf-8")


def to_json(pm: ProcessMap) -> dict[str, Any]:
    """The map as JSON-ready data: nodes, edges, lifecycle and problems."""
    foci = problem_foci(pm)
    nodes = [
        {"id": node, "label": data["label"], "types": sorted(data["types"]),
         "owners": sorted(data["owners"], key=lambda o: o["id"]),
         "problems": sorted({p.kind for p in foci.get(node, [])})}
        for node, data in sorted(pm.graph.nodes(data=True))
    ]
    edges = [
        {"from": source, "to": target,
         "records": sorted(data["records"], key=lambda r: (r["label"], r["interaction"]))}
        for source, target, data in sorted(pm.graph.edges(data=True), key=lambda e: e[:2])
    ]
    return {
        "nodes": nodes,
        "edges": edges,
        "lifecycle": [{"from": a, "to": b} for a, b in sorted(pm.lifecycle)],
        "feedback": {k: sorted(v) for k, v in sorted(pm.feedback.items())},
        "problems": [asdict(p) for p in pm.problems],
    }
