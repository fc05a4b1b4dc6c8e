"""AIMS Graph core library: store, ingest, validation, queries, process analysis and the CLI.

Never imports fastapi; the REST API in `api/` is a thin layer over this package.
"""

__version__ = "0.1.0"
