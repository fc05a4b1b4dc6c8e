"""`aims report` commands (to be written)."""
