"""A reproducible, risk-weighted audit sample of in-scope AI systems.

The population is the assessment's in-scope systems. With `weight="risk"` each system weighs
1, plus 2 when it is high-risk, plus 1 when one of its gates fails (both read from the
assessment); with `weight="none"` every system weighs 1. The sample is drawn without replacement
by weighted random keys (Efraimidis and Spirakis: key = u ** (1 / weight), u uniform from a
`random.Random(seed)`, the n largest keys win), so the same store, date, n and seed give the same
sample, and the method can be redone by hand from the printed weights and seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from mapper.errors import InputError
from mapper.rules.assessment import SystemStatus, assess
from mapper.store import Store

WEIGHTS = ("risk", "none")


def weight_of(system: SystemStatus, how: str) -> int:
    if how == "none":
        return 1
    return 1 + (2 if system.high_risk else 0) + (
        1 if any(g.status == "fail" for g in system.gates) else 0)


@dataclass
class Sample:
    as_of: date
    n: int
    seed: int
    weight: str
    population: int
    chosen: list[dict[str, Any]]

    @property
    def method(self) -> str:
        rule = ("weight 1, +2 if high-risk, +1 if a gate fails" if self.weight == "risk"
                else "equal weights")
        return (f"{len(self.chosen)} of {self.population} in-scope AI systems as of "
                f"{self.as_of}, drawn without replacement by weighted random keys "
                f"(Efraimidis-Spirakis, key = u^(1/weight), Python random.Random({self.seed})); "
                f"{rule}.")

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "n": self.n, "seed": self.seed,
                "weight": self.weight, "population": self.population, "method": self.method,
                "systems": self.chosen}


def draw(store: Store, *, as_of: date, n: int = 25, seed: int = 42,
         weight: str = "risk") -> Sample:
    """The sample; n larger than the population takes every system."""
    if weight not in WEIGHTS:
        raise InputError(f"--weight {weight!r}: use risk or none")
    if n < 1:
        raise InputError(f"--n {n}: give a sample size of at least 1")
    systems = assess(store, as_of=as_of).systems
    rng = random.Random(seed)
    keyed = []
    for s in sorted(systems, key=lambda s: (s.identifier, s.system)):
        w = weight_of(s, weight)
        keyed.append((rng.random() ** (1 / w), s, w))
    keyed.sort(key=lambda t: -t[0])
    chosen = [{"system": s.system, "identifier": s.identifier, "label": s.label,
               "owner": s.owner, "high_risk": s.high_risk, "weight": w,
               "failing_gates": [g.gate for g in s.gates if g.status == "fail"],
               "key": round(k, 6)} for k, s, w in keyed[:n]]
    return Sample(as_of, n, seed, weight, len(systems), chosen)
