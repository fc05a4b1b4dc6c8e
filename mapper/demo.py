"""The demo organisation (examples/meridian): where it is and the date it is validated at."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from mapper.errors import ResourceError

if TYPE_CHECKING:  # imported by `aims demo` at start: the store and trace load when used
    from mapper.store import Store

TRACED_SYSTEM = "SYS-CLAIMS-TRIAGE"
"""The AI system `aims demo` traces end to end."""


def folder() -> Path:
    """The demo organisation's folder (from a checkout or the installed wheel).

    >>> folder().joinpath("EXPECTED.md").is_file()
    True
    """
    from mapper import resources

    return resources.data_dir("examples") / "meridian"


def as_of() -> date:
    """The validation date stated on the `as-of: YYYY-MM-DD` line of EXPECTED.md.

    >>> as_of().isoformat()
    '2026-06-30'
    """
    text = (folder() / "EXPECTED.md").read_text(encoding="utf-8")
    match = re.search(r"^as-of:\s*(\d{4}-\d{2}-\d{2})\s*$", text, re.MULTILINE)
    if not match:
        raise ResourceError(f"{folder() / 'EXPECTED.md'} has no 'as-of: YYYY-MM-DD' line")
    return date.fromisoformat(match.group(1))


def print_trace(store: Store, system: str, as_of: date) -> None:
    """Print the end-to-end trace of one AI system (the `aims trace` text)."""
    from mapper.questions import trace

    print(trace.render_text(trace.trace_system(store, system, as_of=as_of)))
