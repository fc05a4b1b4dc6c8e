"""Golden files: expected outputs kept beside the tests, compared exactly.

`AIMS_REGEN_GOLDEN=1 pytest ...` rewrites a golden from the current output and skips the test,
so a regenerated file is never silently accepted: read its diff (`git diff tests/golden`) and
commit it only when every changed row is right.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent


def regenerating() -> bool:
    """Whether AIMS_REGEN_GOLDEN asks for goldens to be rewritten."""
    return os.environ.get("AIMS_REGEN_GOLDEN", "") not in ("", "0", "false", "no")


def check_json(relative: str, data: Any) -> None:
    """Compare `data` with the JSON golden at tests/golden/<relative> (or rewrite it)."""
    path = GOLDEN_DIR / relative
    rendered = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
    if regenerating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        pytest.skip(f"regenerated {path}: review the diff before committing")
    assert path.is_file(), f"no golden {path}; run with AIMS_REGEN_GOLDEN=1 and review it"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(rendered) == expected, f"output differs from {path}"


def check_text(relative: str, text: str) -> None:
    """Compare `text` with the text golden at tests/golden/<relative> (or rewrite it)."""
    path = GOLDEN_DIR / relative
    if regenerating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"regenerated {path}: review the diff before committing")
    assert path.is_file(), f"no golden {path}; run with AIMS_REGEN_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"output differs from {path}"
