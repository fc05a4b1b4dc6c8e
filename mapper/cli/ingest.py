"""`aims ingest` commands (to be written)."""
