"""`aims validate` commands (to be written)."""
