"""A/B experiments, the pure parts: reading variant specs, assigning chats, comparing variants.

A chat's variant is a hash of its channel, chat id and the experiment's name: every
process, before and after a restart, gives the same chat the same variant.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import TypeVar

from bot.lifecycle.errors import BadExperiment
from bot.lifecycle.models import Variant, VariantSpec

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_SPEC = re.compile(r"^(?P<name>[^=]*)=(?P<version>[^:]*):(?P<weight>.*)$")
V = TypeVar("V", Variant, VariantSpec)


def parse_variant(text: str) -> VariantSpec:
    """`a=3:50` → variant "a", version 3, weight 50; BadExperiment says what is wrong."""
    found = _SPEC.match(text.strip())
    if found is None:
        raise BadExperiment(f"--variant {text!r}: write NAME=VERSION:WEIGHT, e.g. a=3:50")
    name, version, weight = found["name"].strip(), found["version"].strip(), found["weight"].strip()
    if not _NAME.match(name):
        raise BadExperiment(f"--variant {text!r}: the name must be letters, digits, '-', '_' "
                            "or '.', at most 32 characters")
    if not version.isdigit() or int(version) < 1:
        raise BadExperiment(f"--variant {text!r}: the version {version!r} is not a version "
                            "number; `leadbot script history` lists them")
    if not weight.isdigit() or int(weight) < 1:
        raise BadExperiment(f"--variant {text!r}: the weight {weight!r} is not a positive "
                            "whole number")
    return VariantSpec(name=name, version=int(version), weight=int(weight))


def check_variants(name: str, variants: Sequence[VariantSpec]) -> None:
    """Refuse an experiment that cannot be run as asked (BadExperiment, one line)."""
    if not _NAME.match(name):
        raise BadExperiment(f"experiment name {name!r}: use letters, digits, '-', '_' or '.', "
                            "at most 32 characters")
    if len(variants) < 2:
        raise BadExperiment("an experiment needs at least two --variant NAME=VERSION:WEIGHT")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise BadExperiment(f"variant names must differ (got {', '.join(names)})")
    for variant in variants:
        if variant.weight < 1 or not _NAME.match(variant.name):
            raise BadExperiment(f"variant {variant.name!r}: the weight must be a positive whole "
                                "number and the name a short word")
    total = sum(v.weight for v in variants)
    if total != 100:
        raise BadExperiment(f"the weights add up to {total}; make them add up to 100")


def bucket(channel: str, chat_id: str, experiment: str) -> int:
    """0–99, the same for a chat and an experiment in every process."""
    digest = hashlib.sha256(f"{channel}\x1f{chat_id}\x1f{experiment}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def assign_variant(channel: str, chat_id: str, experiment: str, variants: Sequence[V]) -> V:
    """The variant a chat belongs to: its bucket falls in the variant's share of 0–99."""
    point = bucket(channel, chat_id, experiment)
    upper = 0
    for variant in variants:
        upper += variant.weight
        if point < upper:
            return variant
    return variants[-1]


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion (sensible at 0 % and 100 % too)."""
    if total == 0:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None without data."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (s1 + s2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return 1.0
    z = (s1 / n1 - s2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))
