"""Colourways: one design in other palettes, as a pattern house sells it.

A recolour to the nearest palette colour (`qa.repair.recolour`) is right for mending a tile that
strayed from its own palette, and wrong for a colourway: a navy-and-gold damask mapped onto a
pastel palette by nearest colour collapses into one or two pastels. A colourway keeps the
design's structure instead:

1. the design's own inks are found (k-means in CIELAB, as many as the palette has colours, at
   most eight), with the share each covers;
2. each ink is given its own palette colour so that light and dark stay in order: an
   assignment (scipy's linear_sum_assignment) on the difference of lightness, each side
   measured across its own range, so the darkest ink takes the darkest colour it can and the
   ground stays the ground;
3. every pixel moves with its inks, weighted by how near it is to each (a soft membership in
   CIELAB), keeping its own difference from the ink where that is small, so shading, grain and
   antialiased edges come along, while a colour of the design far from every ink (a design with
   more colours than the palette) is drawn into the palette; with `flat`, every pixel takes its
   ink's colour alone (screen print: one separation per ink).

The map is the same for every pixel wherever it lies, so a seamless tile stays seamless under
its repeat, whatever the repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.errors import UserError
from desktop.palettes import Palette

MAX_INKS = 8
SOFTNESS = 8.0  # ΔE: how far from an ink a pixel still follows it mostly (the membership's width)
# ΔE: how much of a pixel's difference from its ink comes along: all of a little (shading, grain:
# 10 keeps 88 %), little of a lot (a colour of the design that shares an ink: 40 keeps 14 %)
KEEP = 20.0
CHANNEL_KEEP = np.array([1.0, 0.35, 0.35], np.float32)  # of L, a and b: a thread's hue noise is the source's


@dataclass
class Colourway:
    image: np.ndarray  # HxWx3 uint8
    palette: Palette  # the colourway's palette
    inks: Palette  # the design's own inks, with their shares
    mapping: list[int] = field(default_factory=list)  # ink i takes palette colour mapping[i]

    def metadata(self, source: dict[str, Any], parent: int | None = None, title: str = "") -> dict[str, Any]:
        """The colourway tile's Tessera metadata: its source's (repeat, style, seed, ...) without
        the source's own QA and attempts, with this palette, the ink map, the parent, and a
        title: the source's `title` and the palette's name."""
        meta = {k: v for k, v in source.items() if k not in ("qa", "attempts", "library_id", "recoloured_to")}
        meta.update(palette=self.palette.as_dict(), colourway=self.as_dict())
        if title:
            meta["title"] = f"{title} · {self.palette.name or 'colourway'}"
        meta["parents"] = [parent] if parent is not None else list(source.get("parents", []))
        return meta

    def as_dict(self) -> dict[str, Any]:
        """What a colourway tile's metadata keeps: the palette, and which ink became which colour."""
        return {"palette": self.palette.as_dict(),
                "inks": [{"from": self.inks.hex[i], "to": self.palette.hex[j],
                          "share": round(self.inks.weights[i], 4) if self.inks.weights else None}
                         for i, j in enumerate(self.mapping)]}


def design_inks(image: np.ndarray, count: int, sample: int = 60_000) -> Palette:
    """The design's own main colours, at most `count` (and MAX_INKS), with the share each covers.

    k-means also finds the blends along a motif's antialiased edge (a grey between black and
    cream); such an ink, small and lying on the way between two larger ones, is left out, so it
    is not given a palette colour of its own: its pixels follow both inks (the soft membership)."""
    from desktop.engine.qa.colour import srgb_to_lab
    from desktop.palettes import extract_palette

    found = extract_palette(np.asarray(image)[..., :3], k=max(1, min(count, MAX_INKS)), sample=sample)
    lab = srgb_to_lab(found.array()).reshape(-1, 3)
    keep = [i for i in range(len(lab)) if not _is_blend(i, lab, found.weights)]
    share = sum(found.weights[i] for i in keep)
    return Palette(tuple(found.colors[i] for i in keep), name="design inks",
                   weights=tuple(found.weights[i] / share for i in keep))


BLEND_SHARE = 0.05  # an ink covering less than this may be a blend of two larger ones...
BLEND_DISTANCE = 15.0  # ... when it lies within this ΔE of the way between them (edges blend
# several pairs of inks, and their cluster lies off each line: 11 ΔE measured)


def _is_blend(i: int, lab: np.ndarray, shares: tuple[float, ...]) -> bool:
    if shares[i] >= BLEND_SHARE:
        return False
    larger = [j for j in range(len(lab)) if shares[j] > shares[i]]
    for a in larger:
        for b in larger:
            if a < b:
                span = lab[b] - lab[a]
                t = float(np.dot(lab[i] - lab[a], span) / max(float(np.dot(span, span)), 1e-9))
                if 0.05 < t < 0.95 and float(np.linalg.norm(lab[a] + t * span - lab[i])) < BLEND_DISTANCE:
                    return True
    return False


def assign(inks_lab: np.ndarray, palette_lab: np.ndarray) -> list[int]:
    """For each ink, the palette colour it becomes: each ink its own colour where the palette has
    enough, light and dark kept in order (lightness, each side across its own range)."""
    from scipy.optimize import linear_sum_assignment

    def spread(lightness: np.ndarray) -> np.ndarray:
        span = float(lightness.max() - lightness.min())
        return (lightness - lightness.min()) / span if span > 1.0 else np.full_like(lightness, 0.5)

    source, target = spread(inks_lab[:, 0]), spread(palette_lab[:, 0])
    cost = (source[:, None] - target[None, :]) ** 2
    # a far smaller say for hue and chroma: between two colours of one lightness, the nearer one
    cost = cost + 1e-5 * ((inks_lab[:, None, 1:] - palette_lab[None, :, 1:]) ** 2).sum(-1)
    if len(inks_lab) <= len(palette_lab):
        rows, cols = linear_sum_assignment(cost)
        mapping = np.empty(len(inks_lab), np.int64)
        mapping[rows] = cols
        return [int(j) for j in mapping]
    return [int(j) for j in cost.argmin(axis=1)]  # more inks than colours: some share one


def colourway(image: np.ndarray, palette: Palette, *, inks: Palette | None = None, flat: bool = False) -> Colourway:
    """The design of `image` (HxWx3 or HxWx4 uint8; alpha is kept) in `palette`."""
    import cv2

    from desktop.engine.qa.colour import nearest_index, srgb_to_lab

    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise UserError("a colourway needs an 8-bit RGB tile")
    rgb = np.ascontiguousarray(arr[..., :3])
    inks = inks or design_inks(rgb, len(palette.colors))
    inks_lab = srgb_to_lab(inks.array()).reshape(-1, 3).astype(np.float32)
    palette_lab = srgb_to_lab(palette.array()).reshape(-1, 3).astype(np.float32)
    mapping = assign(inks_lab, palette_lab)
    lab = srgb_to_lab(rgb)
    h, w = lab.shape[:2]
    flat_lab = lab.reshape(-1, 3)
    if flat:  # each pixel its ink's colour: exactly the palette's colours
        pixels = np.asarray(palette.colors, np.uint8)[np.asarray(mapping)[nearest_index(flat_lab, inks_lab)]]
        pixels = pixels.reshape(h, w, 3)
    else:
        targets = palette_lab[mapping]  # (k, 3): where each ink goes
        out = np.empty_like(flat_lab)
        for start, chunk in _chunks(flat_lab):
            offsets = chunk[:, None, :] - inks_lab[None]  # (n, k, 3): each pixel from each ink
            d2 = (offsets ** 2).sum(-1)
            weights = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / (2 * SOFTNESS ** 2))
            weights /= weights.sum(axis=1, keepdims=True)
            kept = np.exp(-d2[..., None] / (2 * KEEP ** 2))  # shading kept, a merged colour drawn in
            kept = kept * CHANNEL_KEEP  # lightness: the texture; hue and chroma: the palette's
            out[start:start + len(chunk)] = (weights[..., None] * (targets[None] + offsets * kept)).sum(1)
        out[:, 0] = np.clip(out[:, 0], 0, 100)
        srgb = cv2.cvtColor(out.reshape(h, w, 3), cv2.COLOR_LAB2RGB)
        pixels = (np.clip(srgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    if arr.shape[2] == 4:
        pixels = np.concatenate([pixels, arr[..., 3:]], axis=2)
    return Colourway(pixels, palette, inks, mapping)


def _chunks(rows: np.ndarray, size: int = 1 << 18):
    """(start, rows[start:start + size]): chunks keep the distance tables small."""
    for start in range(0, len(rows), size):
        yield start, rows[start:start + size]


def colourways(image: np.ndarray, palettes: list[Palette], *, flat: bool = False, progress=None) -> list[Colourway]:
    """The design in each palette. The inks are found once for each palette size (a two-colour
    palette takes the design's two main inks, a five-colour one its five)."""
    if not palettes:
        raise UserError("choose at least one palette for the colourways")
    found: dict[int, Palette] = {}
    out = []
    for i, palette in enumerate(palettes):
        if progress is not None:
            progress(i, len(palettes), f"Colourway {i + 1} of {len(palettes)}: {palette.name or 'palette'}")
        count = min(len(palette.colors), MAX_INKS)
        if count not in found:
            found[count] = design_inks(image, count)
        out.append(colourway(image, palette, inks=found[count], flat=flat))
    if progress is not None:
        progress(len(palettes), len(palettes), "Colourways made")
    return out



def sheet(source: np.ndarray, made: list[Colourway], repeat: str = "basic", cell: int = 320,
          columns: int = 4, source_label: str = "original") -> np.ndarray:
    """The presentation sheet of a design and its colourways (`desktop.engine.sheet`): the
    source first, then each colourway over its palette's swatches and name."""
    from desktop.engine.sheet import SheetItem, presentation_sheet

    items = [SheetItem(np.asarray(source)[..., :3], repeat, source_label)]
    items += [SheetItem(c.image[..., :3], repeat, c.palette.name or "colourway", c.palette.colors) for c in made]
    return presentation_sheet(items, cell, columns)
