"""Limits on a /sparql query's text, checked by one linear scan before any parser sees it.

rdflib's SPARQL parser (pyparsing) and its algebra translation recurse once or more per level
of `{ }`, `( )` and `[ ]`: a query nesting 3,000 groups exhausts the interpreter's stack in the
read-only check. So the server first scans the text once, without recursion: it measures the
length and the deepest nesting (brackets inside strings, IRIs and comments do not count) and
refuses, with a 400 naming the limit, a query over either. The same scan tells whether the
query carries its own dataset clause (FROM / FROM NAMED), which decides the dataset it runs
on (api/sparql_worker.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mapper.errors import QueryError

_TOKEN = re.compile(
    r"""(?P<iri><[^<>"{}|^`\\\s]*>)
      |(?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                  |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
      |(?P<comment>\#[^\n\r]*)
      |(?P<var>[?$][^\s{}()\[\],;.]*)
      |(?P<word>[A-Za-z_][\w\-.]*(?::[^\s{}()\[\],;]*)?|:[^\s{}()\[\],;]*)
      |(?P<open>[{(\[])
      |(?P<close>[})\]])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class QueryShape:
    """What the scan found: the deepest nesting and whether FROM / FROM NAMED appear."""

    depth: int
    dataset: bool


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"query:{line}:{column}"


def scan(text: str, *, max_chars: int, max_depth: int) -> QueryShape:
    """The shape of a query; QueryError (400) naming the limit when it is too long or too deep.

    >>> scan("SELECT * FROM <urn:g> WHERE { ?s ?p '{{{' }", max_chars=1000, max_depth=4)
    QueryShape(depth=1, dataset=True)
    >>> scan("SELECT ?from WHERE { ?s ex:from ?from }", max_chars=1000, max_depth=4).dataset
    False
    >>> scan("ASK " + "{" * 3000 + "}" * 3000, max_chars=10000, max_depth=64)
    Traceback (most recent call last):
    ...
    mapper.errors.QueryError: query:1:69: the query nests groups, brackets and parentheses \
more than 64 deep (the limit, $AIMS_SPARQL_MAX_DEPTH); flatten it
    """
    if len(text) > max_chars:
        raise QueryError(
            f"the query is {len(text):,} characters long, over the limit of {max_chars:,} "
            "($AIMS_SPARQL_MAX_QUERY); shorten it", ref="query")
    depth = deepest = 0
    dataset = False
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
            if depth > max_depth:
                raise QueryError(
                    f"the query nests groups, brackets and parentheses more than {max_depth} "
                    "deep (the limit, $AIMS_SPARQL_MAX_DEPTH); flatten it",
                    ref=_position(text, match.start()))
            deepest = max(deepest, depth)
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "word" and match.group().upper() == "FROM":
            dataset = True
    return QueryShape(depth=deepest, dataset=dataset)


__all__ = ["QueryShape", "scan"]
