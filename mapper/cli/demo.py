"""`aims demo` commands (to be written)."""
