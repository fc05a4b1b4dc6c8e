"""`aims serve` commands (to be written)."""
