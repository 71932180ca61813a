"""What a seed changes in the styles whose drawing has no randomness of its own.

Checks, gingham, plaid, houndstooth, herringbone, polka dots and the wallpaper groups draw the same
design whatever the seed, so "Count 4" gave one design four times. For these a seed picks a
variant of the design within the brief: the options the brief left at their defaults (a sett, a
group, a scale, a dot size) take other values a designer would use, and the palette's colours swap
roles (which one is the ground, which the ink). Options the brief sets are kept. Seed 0 is the
style's default design, and consecutive seeds are different variants until the variants run out:
`variant_count` says how many there are, so a batch that asks for more can say so.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from desktop.palettes import Palette

# For each style, the options a seed may vary (the default first), and whether inks swap roles.
PLAID_SETTS = ("K4 R24 K24 Y4", "B8 K8 G24 K8 W2", "R24 G4 R4 B16 K2", "N8 K24 W4 K4", "G24 B8 K8 Y2", "R8 W2 R8 K16")
OPTIONS: dict[str, dict[str, tuple]] = {
    "checks": {"cells": (8, 6, 10, 12)},
    "gingham": {"cells": (12, 8, 16, 10)},
    "plaid": {"sett": PLAID_SETTS, "repeats": (2, 3)},
    "houndstooth": {"repeats": (8, 6, 10, 12)},
    "herringbone": {"bands": (8, 6, 10), "lines": (24, 16, 32)},
    "polka-dots": {"cells": (6, 5, 8, 4), "radius": (0.28, 0.2, 0.34), "offset": (True, False)},
    "wallpaper": {"group": ("p4m", "p6m", "cmm", "p4g", "p31m", "pmg", "p2", "pgg")},
}
SWAP_INKS = {"checks", "gingham", "houndstooth", "herringbone", "polka-dots", "wallpaper"}
MAX_ROLE_ORDERS = 24  # at most this many orders of the palette's colours count as variants


def _role_orders(colours: int, style: str) -> int:
    return min(math.factorial(colours), MAX_ROLE_ORDERS) if style in SWAP_INKS and colours > 1 else 1


def _free(style: str, given: dict[str, Any]) -> list[tuple[str, tuple]]:
    """The options a seed may vary: those the brief does not set (the Brief sends only the options
    changed from their defaults; `tessera generate --sett …` sets one)."""
    given_names = {name.replace("-", "_") for name in given}
    return [(name, values) for name, values in OPTIONS.get(style, {}).items() if name not in given_names]


def variant_count(style: str, given: dict[str, Any] | None, colours: int) -> int | None:
    """How many different designs the seed gives this style within the brief; None: as many as
    there are seeds (the style draws from its seed)."""
    if style not in OPTIONS:
        return None
    return math.prod(len(values) for _, values in _free(style, given or {})) * _role_orders(colours, style)


def _nth_permutation(n: int, index: int) -> list[int]:
    """The index-th order of range(n) (factorial number system; 0 is the identity). The first places
    change first, so the first colours (the ones most styles show most) swap soonest."""
    pool, out = list(range(n)), []
    for k in range(n, 0, -1):
        step = math.factorial(k - 1)
        out.append(pool.pop((index // step) % k))
    return out


def vary(style: str, given: dict[str, Any] | None, values: dict[str, Any], palette: Palette, seed: int
         ) -> tuple[dict[str, Any], Palette]:
    """The options and the palette (its colours in their roles' order) of the seed's variant; seed 0
    is the default design."""
    count = variant_count(style, given, len(palette.colors))
    if count is None or count <= 1:
        return values, palette
    index = int(seed) % count
    out = dict(values)
    for name, options in _free(style, given or {}):  # a mixed-radix number: one digit an option
        out[name] = options[index % len(options)]
        index //= len(options)
    orders = _role_orders(len(palette.colors), style)
    if orders > 1 and index % orders:
        order = _nth_permutation(len(palette.colors), index % orders)
        palette = dataclasses.replace(palette, colors=tuple(palette.colors[i] for i in order),
                                      weights=tuple(palette.weights[i] for i in order) if palette.weights else ())
    return out, palette
