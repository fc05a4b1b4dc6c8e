"""`aims --help` and `aims rules` start fast: the CLI package imports no heavy library at start.

Each command imports what it needs inside its function; this checks, in a fresh interpreter,
that importing the CLI (which registers every command) leaves pySHACL, networkx, the report
package and the validation engines unimported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ["pyshacl", "networkx", "mapper.report", "mapper.rules.validate", "mapper.rules.stored",
         "mapper.ingest.mapping", "jinja2", "rdflib", "pyoxigraph", "httpx", "mapper.store",
         "mapper.rules.catalogue", "mapper.rules.assessment", "mapper.questions.queries"]


def _loaded_after(code: str) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    modules = set(json.loads(out.splitlines()[-1]))
    return [m for m in HEAVY if m in modules]


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert _loaded_after("import mapper.cli") == []


def test_the_probe_sees_a_heavy_import() -> None:
    # the check itself can fail: importing the report package is seen
    assert "mapper.report" in _loaded_after("import mapper.cli, mapper.report")


def test_help_runs_and_lists_the_commands() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "mapper.cli", "--help"], env=env, cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    for command in ("validate", "rules", "trace", "gaps", "demo", "serve"):
        assert command in out


def test_the_gate_command_lists_the_catalogue_gates() -> None:
    from mapper.cli import gate
    from mapper.rules import catalogue

    assert gate.GATES == catalogue.GATES
