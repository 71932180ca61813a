"""The 17 wallpaper groups (p1 ... p6m), applied to a built-in or user motif.

Each group is its list of coset representatives in fractional lattice coordinates, as the
International Tables write them ("-y, x-y" and so on). A copy of the motif is placed for
every operation at every lattice point in the tile; its orientation is the operation's
linear part taken into pixel space (B R B^-1), so reflections flip and rotations turn it.

Hexagonal groups need a lattice at 120 degrees. The tile holds a whole number of
centred-rectangular cells whose aspect is as close to sqrt(3) as the tile allows, so the
symmetry is exact in lattice coordinates and within a percent or two in pixels.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from desktop.engine.procedural.canvas import RenderContext, stamp
from desktop.engine.procedural.motifs import BUILTIN_MOTIFS, MOTIF_PATH, load_motif, transformed
from desktop.engine.procedural.params import GROUND, Param, Style
from desktop.repeat import Repeat, translates

_TERM = re.compile(r"([+-]?)(\d+/\d+|\d+|x|y)")


def _parse_coord(expr: str) -> tuple[int, int, Fraction]:
    """'-x+y' -> (-1, 1, 0); 'y+1/2' -> (0, 1, 1/2)."""
    cx = cy = 0
    const = Fraction(0)
    for sign, term in _TERM.findall(expr.replace(" ", "")):
        s = -1 if sign == "-" else 1
        if term == "x":
            cx += s
        elif term == "y":
            cy += s
        else:
            const += s * Fraction(term)
    return cx, cy, const


def _ops(*specs: str) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for spec in specs:
        (ax, ay, at), (bx, by, bt) = (_parse_coord(part) for part in spec.split(","))
        out.append((np.array([[ax, ay], [bx, by]], float), np.array([float(at), float(bt)])))
    return out


_P3 = ("x,y", "-y,x-y", "-x+y,-x")
_P4 = ("x,y", "-x,-y", "-y,x", "y,-x")
_P6 = (*_P3, "-x,-y", "y,-x+y", "x-y,x")

# name -> (lattice family, operations, centred)
GROUPS: dict[str, tuple[str, list, bool]] = {
    "p1": ("rect", _ops("x,y"), False),
    "p2": ("rect", _ops("x,y", "-x,-y"), False),
    "pm": ("rect", _ops("x,y", "-x,y"), False),
    "pg": ("rect", _ops("x,y", "-x,y+1/2"), False),
    "cm": ("rect", _ops("x,y", "-x,y"), True),
    "pmm": ("rect", _ops("x,y", "-x,-y", "-x,y", "x,-y"), False),
    "pmg": ("rect", _ops("x,y", "-x,-y", "-x+1/2,y", "x+1/2,-y"), False),
    "pgg": ("rect", _ops("x,y", "-x,-y", "-x+1/2,y+1/2", "x+1/2,-y+1/2"), False),
    "cmm": ("rect", _ops("x,y", "-x,-y", "-x,y", "x,-y"), True),
    "p4": ("square", _ops(*_P4), False),
    "p4m": ("square", _ops(*_P4, "-x,y", "x,-y", "y,x", "-y,-x"), False),
    "p4g": ("square", _ops(*_P4, "-x+1/2,y+1/2", "x+1/2,-y+1/2", "y+1/2,x+1/2", "-y+1/2,-x+1/2"), False),
    "p3": ("hex", _ops(*_P3), False),
    "p3m1": ("hex", _ops(*_P3, "-y,-x", "-x+y,y", "x,x-y"), False),
    "p31m": ("hex", _ops(*_P3, "y,x", "x-y,-y", "-x,-x+y"), False),
    "p6": ("hex", _ops(*_P6), False),
    "p6m": ("hex", _ops(*_P6, "-y,-x", "-x+y,y", "x,x-y", "y,x", "x-y,-y", "-x,-x+y"), False),
}
GROUP_NAMES = tuple(GROUPS)


def group_lattice(group: str, width: int, height: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The lattice basis B (columns a, b, in pixels) and its points inside a width x height box."""
    family = GROUPS[group][0]
    nx = max(1, cells)
    cw = width / nx
    if family == "hex":
        ny = max(1, round(height / (cw * np.sqrt(3))))
        ch = height / ny
        basis = np.array([[cw, -cw / 2], [0.0, ch / 2]])
        i, j = np.meshgrid(np.arange(nx), np.arange(ny))
        corners = np.stack([i.ravel() * cw, j.ravel() * ch], 1)
        points = np.vstack([corners, corners + np.array([cw / 2, ch / 2])])
    else:
        ny = max(1, round(height / cw))
        ch = height / ny
        basis = np.array([[cw, 0.0], [0.0, ch]])
        i, j = np.meshgrid(np.arange(nx), np.arange(ny))
        points = np.stack([i.ravel() * cw, j.ravel() * ch], 1)
    return basis, points


def render_wallpaper(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    group = p["group"]
    _, ops, centred = GROUPS[group]
    basis, points = group_lattice(group, ctx.width, ctx.height, p["cells"])
    if centred:
        ops = ops + [(r, t + 0.5) for r, t in ops]
    inverse = np.linalg.inv(basis)
    cell = float(np.hypot(*basis[:, 0]))
    motif = load_motif(ctx, max(4, round(cell * p["size"])))
    base = np.deg2rad(p["rotation"])
    base_m = np.array([[np.cos(base), -np.sin(base)], [np.sin(base), np.cos(base)]])
    f0 = np.array([p["x"], p["y"]])
    ground = ctx.colors[ctx.ground_index(int(np.argmax(ctx.colors.sum(1))))]
    canvas = np.empty((ctx.height, ctx.width, 3), np.float32)
    canvas[:] = ground
    offsets = np.round(translates(Repeat.BASIC, ctx.width, ctx.height, reach=1)).astype(np.int64)
    for k, (r, t) in enumerate(ops):
        linear = basis @ r @ inverse @ base_m
        centre = basis @ (r @ f0 + t)
        for point in points:
            x, y = (centre + point) % [ctx.width, ctx.height]
            patch, left, top = transformed(motif, linear, float(x), float(y))
            stamp(canvas, patch, left, top, offsets)
        ctx.progress((k + 1) / len(ops))
    return canvas


STYLES = [
    Style("wallpaper", "Wallpaper group", "A motif repeated by one of the 17 plane symmetry groups.",
          render_wallpaper, (
        Param("group", str, "p4m", "The symmetry group.", choices=GROUP_NAMES),
        Param("motif", str, "sprig", "Built-in motif (ignored when a motif image is given).",
              choices=BUILTIN_MOTIFS),
        MOTIF_PATH,
        Param("cells", int, 3, "Lattice cells across the tile.", 1, 32),
        Param("size", float, 0.32, "Motif size as a share of the cell.", 0.02, 1.5),
        Param("x", float, 0.24, "Where the motif sits in the cell, across (0..1).", 0.0, 1.0),
        Param("y", float, 0.12, "Where the motif sits in the cell, down (0..1).", 0.0, 1.0),
        Param("rotation", float, 20.0, "Motif rotation in degrees.", -360.0, 360.0), GROUND,
    ), family="symmetry"),
]
