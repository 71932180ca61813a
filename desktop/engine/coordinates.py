"""Coordinates: the plainer patterns a pattern house sells beside a hero print, in its colours.

A collection is rarely one design: beside the hero (a floral, a damask, a kaleidoscope) come
coordinates that sit with it on a sofa or a quilt (a stripe, a spot, a gingham, a ditsy, a
tone-on-tone texture, a small geometric), each in the hero's own inks. Here the hero's inks are
found (`colourways.design_inks`: k-means in CIELAB, blends along edges left out, with the share
each covers; inks nearer than SAME are one), and each coordinate is a procedural style drawn in
the ink that covers most and one or two of the others that stand out from it, turn about, so the
set uses all of them; the texture is tone on tone (that ink and the one nearest it, or a tone of
it). The ink that covers most is each coordinate's ground too (the styles' `ground` option), so
a navy-ground hero gets navy-ground coordinates. Every coordinate is drawn at the hero's size and repeat, so it is seamless wherever the hero is,
and it is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.errors import UserError
from desktop.palettes import Palette

INKS = 5  # at most this many inks are taken from the hero
SAME = 10.0  # ΔE76: inks nearer than this are one ink
SNAP = 20.0  # ΔE76: an ink this near a colour of the hero's brief is that colour (k-means centres are
# pulled towards the colours an ink is antialiased against: a red's edges on gold, 15 ΔE off)
TONE = 25.0  # ΔE76: the furthest an ink may be from the ground to make a tone-on-tone texture with it


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    style: str
    params: dict[str, Any]
    accents: int  # how many of the hero's other inks it draws on the ground (0: tone on tone)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("stripe", "Stripe", "stripes", {"direction": "vertical", "count": 12, "variation": 0.5}, 2),
    Kind("spot", "Spot", "polka-dots", {"cells": 8, "radius": 0.22, "offset": True}, 1),
    Kind("gingham", "Gingham", "gingham", {"cells": 12, "colour": 1}, 1),
    Kind("ditsy", "Ditsy", "toss", {"motif": "sprig", "count": 70, "size": 0.06, "spacing": 1.2}, 2),
    Kind("texture", "Texture", "fbm", {"scale": 6, "octaves": 5, "levels": 0}, 0),
    Kind("geometric", "Geometric", "hexagons", {"cells": 10, "outline": 0.1}, 1),
)}
KIND_NAMES = tuple(KINDS)


@dataclass
class Coordinate:
    kind: Kind
    image: np.ndarray  # HxWx3 uint8
    palette: Palette  # the hero's inks it is drawn in, the ground first
    repeat: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)

    def metadata(self, source: dict[str, Any], parent: int | None = None, title: str = "") -> dict[str, Any]:
        """The coordinate tile's Tessera metadata: its own style, options and inks, the hero's
        repeat and DPI, a title (the hero's and the kind), and the hero's library id as its parent
        when it has one."""
        meta = {"tessera": source.get("tessera"), "engine": "procedural", "style": self.kind.style,
                "params": self.params, "repeat": self.repeat, "size": [int(self.image.shape[1]), int(self.image.shape[0])],
                "seed": self.seed, "palette": self.palette.as_dict(), "dpi": source.get("dpi", 150),
                "coordinate": {"kind": self.kind.name, "of": title or source.get("title", "")},
                "parents": [parent] if parent is not None else None}
        if title:
            meta["title"] = f"{title} · {self.kind.label.lower()}"
        return {k: v for k, v in meta.items() if v is not None}


def hero_inks(image: np.ndarray, palette: Palette | None = None) -> Palette:
    """The hero's inks, the one covering most first, the rest by share; an ink within SAME of a
    larger one is taken as that ink (two browns k-means split are one to the eye), and one within
    SNAP of a colour of the hero's own `palette` (its brief's) is taken as that colour exactly."""
    from desktop.engine.colourways import design_inks
    from desktop.engine.qa.colour import srgb_to_lab

    found = design_inks(np.asarray(image)[..., :3], INKS)
    order = sorted(range(len(found.colors)), key=lambda i: -found.weights[i])
    lab = srgb_to_lab(np.asarray([found.colors[i] for i in order], np.uint8)).reshape(-1, 3)
    kept: list[int] = []  # positions in `order`
    shares: list[float] = []
    for k, i in enumerate(order):
        near = next((j for j, m in enumerate(kept) if np.linalg.norm(lab[k] - lab[m]) < SAME), None)
        if near is None:
            kept.append(k)
            shares.append(found.weights[i])
        else:
            shares[near] += found.weights[i]
    colours = [found.colors[order[k]] for k in kept]
    if palette is not None:  # the brief's colours where the inks are them (k-means lands a little off)
        brief = srgb_to_lab(np.asarray(palette.colors, np.uint8)).reshape(-1, 3)
        for i, k in enumerate(kept):
            gaps = np.linalg.norm(brief - lab[k], axis=1)
            if gaps.min() < SNAP:
                colours[i] = tuple(int(c) for c in palette.colors[int(gaps.argmin())])
    merged: dict[tuple[int, ...], float] = {}  # two inks that are one colour of the brief: one ink
    for colour, share in zip(colours, shares):
        merged[colour] = merged.get(colour, 0.0) + share
    return Palette(tuple(merged), name=palette.name if palette is not None and palette.name else "hero inks",
                   weights=tuple(merged.values()))


def _inks_for(kind: Kind, inks: Palette, turn: int) -> Palette:
    """The ground and this coordinate's accents: the other inks that stand out from the ground,
    taken turn about (so a set of coordinates uses all of them); tone on tone takes the ink
    nearest the ground, or a tone of the ground itself where the hero has none near it."""
    from desktop.engine.qa.colour import srgb_to_lab

    ground, others = inks.colors[0], list(inks.colors[1:])
    lab = srgb_to_lab(np.asarray([ground, *others], np.uint8)).reshape(-1, 3)
    distance = [float(np.linalg.norm(lab[k + 1] - lab[0])) for k in range(len(others))]
    if kind.accents == 0:
        near = [k for k in range(len(others)) if distance[k] <= TONE]
        if near:
            chosen = [others[min(near, key=lambda k: distance[k])]]
        else:  # a tone of the ground: lighter on a dark ground, darker on a light one
            tone = np.asarray(ground, float) + 30 if lab[0][0] < 50 else np.asarray(ground, float) * 0.82
            chosen = [tuple(int(c) for c in np.clip(tone, 0, 255))]
    else:
        standing = [others[k] for k in range(len(others)) if distance[k] >= SAME * 1.5] or others
        if not standing:  # a one-ink hero: its ground and a darker or lighter tone of it
            standing = [tuple(int(c) for c in np.clip(np.asarray(ground, float) * (0.45 if lab[0][0] > 50 else 2.2),
                                                      0, 255))]
        chosen = [standing[(turn + k) % len(standing)] for k in range(min(kind.accents, len(standing)))]
    name = f"{inks.name}: {kind.label.lower()}" if inks.name else kind.label.lower()
    return Palette((ground, *chosen), name=name)


def coordinates(image: np.ndarray, repeat: str = "basic", kinds: list[str] | tuple[str, ...] = KIND_NAMES,
                seed: int = 0, progress=None, size: tuple[int, int] | None = None,
                palette: Palette | None = None) -> list[Coordinate]:
    """One coordinate of each kind for the hero `image` (HxWx3 uint8), at its size and repeat
    (or at `size`, width x height: a small preview of each), in its inks (snapped to its brief's
    `palette` where they are its colours)."""
    from desktop.engine import procedural
    from desktop.engine.images import to_uint8

    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UserError(f"unknown coordinate {', '.join(unknown) or '(none given)'}: choose from {', '.join(KINDS)}")
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise UserError("coordinates need an 8-bit RGB tile")
    width, height = size or (arr.shape[1], arr.shape[0])
    inks = hero_inks(arr, palette)
    made = []
    for turn, name in enumerate(kinds):
        kind = KINDS[name]
        palette = _inks_for(kind, inks, turn)
        style = procedural.get_style(kind.style)
        values = dict(kind.params)
        if style.param("ground") is not None:  # the hero's ground is the coordinate's, light or dark
            values["ground"] = "first"
        params = style.resolve(values)
        drawn = procedural.render(kind.style, params, repeat, width, height, palette, seed + turn, vary=False)
        made.append(Coordinate(kind, to_uint8(drawn), palette, str(repeat), seed + turn, params))
        if progress is not None:
            progress((turn + 1) / len(kinds))
    return made
