"""The rules: the catalogue read from shapes/, both engines, stored findings, the assessment.

- catalogue: the rules as the shapes declare them (id, clauses, severity, description).
- results: what an engine reports (RawResult) turned into findings with labels, owners, messages.
- compile: the shapes compiled to SPARQL and run inside the store (the default engine).
- pyshacl_engine: pySHACL, the reference engine the compiled one must agree with.
- stored: findings kept in the store and kept current by every committed change.
- validate: one entry point over the engines and the stored findings.
- assessment: the one summary every face renders.

Siblings import each other by module (never through this package), so there is no circle.
"""
