"""create_app(settings): the FastAPI app over mapper/, with its store opened once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.limits import BodyLimit
from api.pages import docs as docs_pages
from api.pages import render as pages
from api.routes import (
    batches,
    gates,
    health,
    ingest,
    processes,
    queries,
    records,
    sparql,
    systems,
    tasks,
    validation,
    webhooks,
)
from api.routes import pages as page_routes
from api.settings import Settings
from api.sparql import SparqlRunner
from api.state import AppState
from mapper.apikeys import KeyRing
from mapper.rules import stored
from mapper.rules.stored import keep_current
from mapper.store import Store, open_store

DESCRIPTION = """\
Push AI-management records to the AIMS Graph and get the ISO/IEC 42001 Clause 4.4 verdict
back; query the graph with named queries, traces, gap reports and a read-only SPARQL endpoint.

**Keys.** Every operation but `/healthz` needs an API key, sent as `Authorization: Bearer KEY`
or `X-API-Key: KEY` (`aims apikey create --role reader|contributor|admin --name NAME`).
`reader` reads everything, `contributor` also ingests, `admin` also deletes batches.

**Errors** all have one shape: `{"error": code, "message": what to fix, "ref": where}`.
Non-conformance is not an error: a validation report is a 200.
"""

TAGS = [
    {"name": "ingest", "description": "Add records; get the verdict for what they touched."},
    {"name": "batches", "description": "Ingested batches: list, inspect, undo."},
    {"name": "validation", "description": "The Clause 4.4 rules and their findings."},
    {"name": "systems", "description": "AI systems and their end-to-end traces."},
    {"name": "processes", "description": "The AIMS processes and their hand-offs."},
    {"name": "queries", "description": "Named SPARQL queries with bound parameters."},
    {"name": "sparql", "description": "The read-only SPARQL 1.1 Protocol endpoint."},
    {"name": "health", "description": "Liveness."},
]


ROUTERS = [
    gates.router,  # before systems: /systems/{id:path} would swallow .../gates/{gate}
    ingest.router, batches.router, validation.router, systems.router,
    processes.router, queries.router, sparql.router,
    tasks.router, webhooks.router, records.router,
]
"""The routers that need a key (all but /healthz)."""


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """The app for `settings` (default: from the environment).

    The store is opened when the app starts and closed when it stops; pass `store` to share
    one you opened (the caller then closes it).
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = keep_current(store or open_store(settings.store))
        if stored.stored_as_of(opened) is not None:
            stored.prepare()  # the checks' analysis, once: not inside the first write
        state = AppState(settings=settings, store=opened, keys=KeyRing(settings.key_path))
        state.sparql = SparqlRunner(state)
        app.state.aims = state
        try:
            yield
        finally:
            state.sparql.close()
            if store is None:
                opened.close()

    app = FastAPI(
        title=settings.title, version="1", description=DESCRIPTION, openapi_tags=TAGS,
        lifespan=lifespan, docs_url=None, redoc_url=None,
    )
    errors.install(app)
    docs_pages.install(app, title=settings.title)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.include_router(health.router, responses={500: errors.RESPONSES[500],
                                                 503: errors.RESPONSES[503]})
    for router in ROUTERS:
        app.include_router(router, responses=errors.RESPONSES)
    pages.install(app)
    app.include_router(page_routes.router)
    return app
