"""`aims ontology` commands (to be written)."""
