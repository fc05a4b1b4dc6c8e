"""`aims query` commands (to be written)."""
