"""Store figures: how validation should read data out of each backend, loads and a trace.

Run: .venv/bin/python bench/store.py [N ...]   (default: 1000 10000 AI systems, ~25 triples each)

For each size it prints:
- Turtle load: pyoxigraph vs rdflib;
- to_graph() on the embedded store: (a) quads() -> rdflib terms -> Graph.add (the base class),
  (a2) the same with one Graph.addN call, (b) dump N-Triples per graph + rdflib parse;
- the remote store (a private Virtuoso): load through SPARQL Update chunks vs the Graph Store
  Protocol, and to_graph() by (a) paged SELECT (JSON) vs (c) paged CONSTRUCT (N-Triples);
- a trace: a 6-step join for one system and queries/trace-system.rq, on pyoxigraph, rdflib and
  Virtuoso.
"""

from __future__ import annotations

import multiprocessing
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef  # noqa: E402

from mapper import resources  # noqa: E402
from mapper.store import META_GRAPH, OxigraphStore, Store  # noqa: E402
from mapper.store.remote import RemoteStore  # noqa: E402
from mapper.vocab import AIMS  # noqa: E402
from tests.fixtures.remote import ensure_virtuoso, start_virtuoso  # noqa: E402

BASE = "https://example.org/bench/"
Triple = tuple[Any, Any, Any]


# --- a synthetic AIMS graph -------------------------------------------------------------------


def synthetic(systems: int) -> list[Triple]:
    """About 25 triples per AI system: the system, intake, risk, release, monitoring plan."""
    people = [URIRef(f"{BASE}person/{i}") for i in range(max(10, systems // 20))]
    triples: list[Triple] = []
    for i, person in enumerate(people):
        triples += [(person, RDF.type, AIMS.Person), (person, RDFS.label, Literal(f"Person {i}"))]
    for i in range(systems):
        sys_ = URIRef(f"{BASE}system/{i}")
        owner = people[i % len(people)]
        day = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
        later = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
        intake, risk = URIRef(f"{BASE}intake/{i}"), URIRef(f"{BASE}risk/{i}")
        release, plan = URIRef(f"{BASE}release/{i}"), URIRef(f"{BASE}plan/{i}")
        triples += [
            (sys_, RDF.type, AIMS.InternalAISystem),
            (sys_, RDFS.label, Literal(f"System {i} – ünïcode")),
            (sys_, AIMS.identifier, Literal(f"SYS-{i:06d}")),
            (sys_, AIMS.purpose, Literal(f"Purpose of system {i}", lang="en")),
            (sys_, AIMS.businessOwner, owner),
            (sys_, AIMS.inScope, Literal(i % 7 != 0)),
            (sys_, AIMS.lifecycleStage, AIMS.Deployed),
            (sys_, AIMS.buildStartDate, Literal(day, datatype=XSD.date)),
            (sys_, AIMS.deploymentDate, Literal(later, datatype=XSD.date)),
            (intake, RDF.type, AIMS.IntakeRecord),
            (intake, AIMS.concernsSystem, sys_),
            (intake, AIMS.recordDate, Literal(day, datatype=XSD.date)),
            (intake, AIMS.author, owner),
            (risk, RDF.type, AIMS.RiskClassification),
            (risk, AIMS.concernsSystem, sys_),
            (risk, AIMS.riskLevel, AIMS.HighRisk),
            (risk, AIMS.recordDate, Literal(day, datatype=XSD.date)),
            (risk, AIMS.author, owner),
            (release, RDF.type, AIMS.ReleaseApproval),
            (release, AIMS.concernsSystem, sys_),
            (release, AIMS.recordDate, Literal(later, datatype=XSD.date)),
            (release, AIMS.approvedBy, people[(i + 1) % len(people)]),
            (plan, RDF.type, AIMS.MonitoringPlan),
            (plan, AIMS.concernsSystem, sys_),
            (plan, AIMS.owner, owner),
            (plan, AIMS.cadenceDays, Literal(30)),
        ]
    return triples


def serialise(triples: list[Triple], fmt: ox.RdfFormat) -> bytes:
    from mapper.store import to_ox

    data = ox.serialize(
        (ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in triples),  # type: ignore[arg-type]
        format=fmt,
    )
    assert data is not None
    return data


# --- timing -----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median seconds over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def row(label: str, seconds: float, base: float | None = None, extra: str = "") -> None:
    ratio = f"  x{seconds / base:6.2f}" if base else ""
    unit = f"{seconds * 1000:9.2f} ms" if seconds < 1 else f"{seconds:9.2f} s "
    print(f"  {label:58s}{unit}{ratio}  {extra}", flush=True)


# --- to_graph variants ------------------------------------------------------------------------


def _data_graph_names(store: Store) -> list[str]:
    return [g for g in store.graphs() if g not in (resources.ONTOLOGY_GRAPH, META_GRAPH)]


def oxi_addn(store: OxigraphStore) -> Graph:
    graph = Graph()
    graph.addN(
        (s, p, o, graph)
        for name in _data_graph_names(store)
        for s, p, o, _ in store.quads(name)
    )
    return graph


def oxi_dump_parse(store: OxigraphStore) -> Graph:
    graph = Graph()
    for name in _data_graph_names(store):
        data = store._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name))
        graph.parse(data=data, format="nt")
    return graph


def remote_construct(store: RemoteStore) -> Graph:
    """Paged CONSTRUCT per graph, parsed by pyoxigraph (bnode labels are Virtuoso's ids)."""
    graph = Graph()
    for name in _data_graph_names(store):
        offset = 0
        while True:
            text = (
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {{ SELECT ?s ?p ?o WHERE {{ GRAPH <{name}> "
                f"{{ ?s ?p ?o }} }} ORDER BY ?s ?p ?o }} }} LIMIT {store.page_size} OFFSET {offset}"
            )
            page = store._construct(text)
            graph += page
            if len(page) < store.page_size:
                break
            offset += store.page_size
    return graph


# --- queries ----------------------------------------------------------------------------------

# One group per step, so that every engine joins from the system outwards (rdflib reorders a
# single flat BGP by bound terms, starts with four `?x a Class` patterns and never finishes).
SIX_STEP = """
PREFIX aims: <https://aims-graph.org/ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?intake ?risk ?release ?plan ?owner ?name WHERE {
  { ?intake aims:concernsSystem ?system . ?intake a aims:IntakeRecord }
  { ?risk aims:concernsSystem ?system . ?risk a aims:RiskClassification ; aims:riskLevel ?level }
  { ?release aims:concernsSystem ?system . ?release a aims:ReleaseApproval }
  { ?plan aims:concernsSystem ?system . ?plan a aims:MonitoringPlan ; aims:owner ?owner }
  { ?owner rdfs:label ?name }
}
"""


def limited(fn: Callable[[], Any], limit: float, repeat: int = 1) -> tuple[float | None, Any]:
    """timed() in a forked child, given up after `limit` seconds (None: did not finish)."""
    ctx = multiprocessing.get_context("fork")
    queue: Any = ctx.Queue()

    def child() -> None:
        seconds, result = timed(fn, repeat)
        queue.put((seconds, len(result)))

    proc = ctx.Process(target=child)
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None, None
    return queue.get(timeout=5)


def row_limited(label: str, outcome: tuple[float | None, Any], base: float, limit: float) -> None:
    seconds, count = outcome
    if seconds is None:
        print(f"  {label:58s}  did not finish within {limit:g} s", flush=True)
    else:
        row(label, seconds, base, extra=f"{count} row(s)")


def load_rdflib(turtle: bytes) -> Graph:
    graph = Graph()
    graph.parse(data=turtle, format="turtle")
    return graph


def bench(systems: int, tmp: Path, virtuoso_url: dict[str, str] | None) -> None:
    triples = synthetic(systems)
    turtle = serialise(triples, ox.RdfFormat.TURTLE)
    size = f"{len(triples):,} triples, Turtle {len(turtle) / 1e6:.1f} MB"
    print(f"\n== {systems:,} AI systems: {size}")

    print("Turtle load")
    t_ox, _ = timed(lambda: ox.Store().load(turtle, format=ox.RdfFormat.TURTLE), 3)
    row("pyoxigraph Store.load (memory)", t_ox)
    t_rdf, rdf_graph = timed(lambda: load_rdflib(turtle))
    row("rdflib Graph.parse(turtle)", t_rdf, t_ox)

    embedded = OxigraphStore(tmp / f"embedded-{systems}")
    t_emb, _ = timed(lambda: embedded.load(turtle, format="turtle", graph=f"{BASE}graph/data"))
    row("OxigraphStore.load (embedded, on disk, one transaction)", t_emb, t_ox)

    print("to_graph() on the embedded store (data graphs -> rdflib Graph)")
    t_a, g_a = timed(embedded.to_graph, 3)
    row("(a) Store.to_graph: quads() + Graph.add", t_a)
    t_a2, g_a2 = timed(lambda: oxi_addn(embedded), 3)
    row("(a2) quads() + one Graph.addN", t_a2, t_a)
    t_b, g_b = timed(lambda: oxi_dump_parse(embedded), 3)
    row("(b) dump N-Triples + rdflib parse", t_b, t_a)
    expected = set(rdf_graph)
    for name, graph in (("a", g_a), ("a2", g_a2), ("b", g_b)):
        assert set(graph) == expected, f"to_graph variant {name} differs from the data"

    print(f"trace for one system (median of 20; {systems:,} systems)")
    system = URIRef(f"{BASE}system/{systems // 2}")
    trace = next(p for p in resources.query_files() if p.stem == "trace-system").read_text()
    rdf_with_onto = Graph()
    rdf_with_onto += rdf_graph
    rdf_with_onto += resources.ontology()
    t6_ox, r6 = timed(lambda: embedded.query(SIX_STEP, bindings={"system": system}), 20)
    row("6-step join, pyoxigraph (embedded)", t6_ox, extra=f"{len(r6.rows)} row(s)")
    limit = 120.0
    r6b = limited(lambda: list(rdf_with_onto.query(SIX_STEP, initBindings={"system": system})),
                  limit, 5)
    row_limited("6-step join, rdflib (initBindings)", r6b, t6_ox, limit)
    tt_ox, rt = timed(lambda: embedded.query(trace, bindings={"system": system}), 20)
    row("trace-system.rq, pyoxigraph (embedded)", tt_ox, extra=f"{len(rt.rows)} row(s)")
    rtb = limited(lambda: list(rdf_with_onto.query(trace, initBindings={"system": system})),
                  limit)
    row_limited("trace-system.rq, rdflib (initBindings)", rtb, tt_ox, limit)

    if virtuoso_url is not None:
        remote(systems, triples, turtle, expected, system, trace, virtuoso_url,
               t_a=t_a, t6_ox=t6_ox, tt_ox=tt_ox)
    embedded.close()


def remote(systems: int, triples: list[Triple], turtle: bytes, expected: set[Triple],
           system: URIRef, trace: str, urls: dict[str, str], *,
           t_a: float, t6_ox: float, tt_ox: float) -> None:
    store = RemoteStore(urls["query"], update_url=urls["update"], user="dba", password="dba",
                        auth="digest")
    for graph in _data_graph_names(store):
        store.drop_graph(graph)
    print("remote store (Virtuoso 7.2 on loopback)")
    t_up, _ = timed(lambda: store.load(turtle, format="turtle", graph=f"{BASE}graph/data"))
    row(f"load: SPARQL Update, staged, {store.chunk} triples/request", t_up)
    store.drop_graph(f"{BASE}graph/data")
    store.gsp_url = urls["gsp"]
    t_gsp, _ = timed(lambda: store.load(turtle, format="turtle", graph=f"{BASE}graph/data"))
    row("load: Graph Store Protocol POST, staged", t_gsp, t_up)
    t_ra, g_ra = timed(store.to_graph, 1)
    row(f"to_graph (a) paged SELECT JSON, {store.page_size} rows/page", t_ra, t_a,
        extra="(ratio vs embedded (a))")
    t_rc, g_rc = timed(lambda: remote_construct(store), 1)
    row("to_graph (c) paged CONSTRUCT N-Triples", t_rc, t_ra)
    assert set(g_ra) == expected, "remote to_graph (a) differs from the data"
    assert set(g_rc) == expected, "remote to_graph (c) differs from the data"
    t6, r6 = timed(lambda: store.query(SIX_STEP, bindings={"system": system}), 20)
    row("6-step join, Virtuoso", t6, t6_ox, extra=f"{len(r6.rows)} row(s), ratio vs pyoxigraph")
    tt, rt = timed(lambda: store.query(trace, bindings={"system": system}), 20)
    row("trace-system.rq, Virtuoso", tt, tt_ox, extra=f"{len(rt.rows)} row(s), ratio vs pyoxigraph")
    for graph in _data_graph_names(store):
        store.drop_graph(graph)
    store.close()


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 10000]
    # stop the private Virtuoso on `kill` too (the `with` block below cleans up)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="aims-bench-store-") as name:
        tmp = Path(name)
        try:
            ensure_virtuoso()
        except RuntimeError as exc:  # no Virtuoso here: still measure the local backends
            print(f"(remote skipped: {exc})")
            for n in sizes:
                bench(n, tmp, None)
            return
        with start_virtuoso(tmp / "virtuoso") as server:
            urls = {
                "query": server.query_url,
                "update": server.update_url,
                "gsp": server.query_url.replace("/sparql", "/sparql-graph-crud-auth"),
            }
            for n in sizes:
                bench(n, tmp, urls)


if __name__ == "__main__":
    main(sys.argv[1:])
