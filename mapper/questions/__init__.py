"""The questions an auditor asks: named queries and their binding, trace, gaps, the process map.

- queries: the named SPARQL files of queries/, typed parameters, the read-only check.
- trace: one AI system end to end (its timeline and missing links).
- processes: the process map and its analysis (the only networkx user).
"""
