"""The repeat geometry: the one answer to "which tile pixel lies at this plane position?".

Repeat types use Spoonflower's names and meanings:

- ``basic``: the tile wraps on both axes.
- ``half-drop``: each column of tiles to the right is moved down by H/2.
- ``half-brick``: each row of tiles below is moved right by W/2.
- ``mirror``: alternate tiles are mirrored (left-right across columns, top-bottom across rows).

Everything that repeats goes through this module: the procedural engine samples through
it, the diffusion padding pads through it, QA compares across it, the preview and the
swatch tile through it. Arrays are numpy (height and width on axes 0 and 1 by default)
or torch tensors (height and width on the last two axes by default); torch is never
imported here, the index maps are plain numpy until a tensor asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np

from desktop.errors import UserError

MAX_TILE_SIDE = 8192


class Repeat(StrEnum):
    BASIC = "basic"
    HALF_DROP = "half-drop"
    HALF_BRICK = "half-brick"
    MIRROR = "mirror"

    @property
    def label(self) -> str:
        return {"basic": "Basic", "half-drop": "Half-drop", "half-brick": "Half-brick", "mirror": "Mirror"}[
            self.value
        ]


REPEATS = tuple(r.value for r in Repeat)


class RepeatError(UserError):
    """A tile size or repeat name the geometry cannot take."""


def parse_repeat(name: str | Repeat) -> Repeat:
    if isinstance(name, Repeat):
        return name
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    key = {"halfdrop": "half-drop", "halfbrick": "half-brick", "brick": "half-brick", "drop": "half-drop",
           "full-drop": "basic", "grid": "basic", "block": "basic"}.get(key, key)
    try:
        return Repeat(key)
    except ValueError:
        raise RepeatError(f"unknown repeat '{name}': choose one of {', '.join(REPEATS)}") from None


def check_size(repeat: Repeat | str, width: int, height: int, most: int | None = MAX_TILE_SIDE) -> None:
    """Raise RepeatError, in words, if this repeat cannot take a width x height tile (at most `most`
    a side: what Tessera makes; None for an image only judged, such as a scan QA reads)."""
    repeat = parse_repeat(repeat)
    if width < 2 or height < 2:
        raise RepeatError(f"a tile must be at least 2x2 pixels, not {width}x{height}")
    if most is not None and (width > most or height > most):
        raise RepeatError(
            f"{width}x{height} is over the {most} px limit per side; generate smaller and upscale"
        )
    if repeat is Repeat.HALF_DROP and height % 2:
        raise RepeatError(
            f"half-drop moves each column down by half the tile height, so the height must be even: "
            f"{height} is odd (try {height - 1} or {height + 1})"
        )
    if repeat is Repeat.HALF_BRICK and width % 2:
        raise RepeatError(
            f"half-brick moves each row right by half the tile width, so the width must be even: "
            f"{width} is odd (try {width - 1} or {width + 1})"
        )


def size_steps(repeat: Repeat | str, halvings: int, scale: int = 1, least: int = 1) -> tuple[int, int]:
    """The multiples (of width, of height) a tile's sides must be for the repeat to stay exact in a
    network that sees the tile at `scale` px per pixel and then `halvings` times halved again (SD 1.5:
    scale 8, the VAE's, and 3 UNet downsamplings). A half-drop's H/2 must be a whole pixel at the
    coarsest level, so the height must be a whole number of 2 coarsest pixels; half-brick likewise
    for the width. Basic and mirror only need whole pixels at the first level. `least`: a multiple
    every side needs anyway (diffusers asks for 8)."""
    repeat = parse_repeat(repeat)
    fine = max(scale, least)
    offset = max(fine, 2 * scale * 2 ** halvings)
    return {Repeat.HALF_DROP: (fine, offset), Repeat.HALF_BRICK: (offset, fine)}.get(repeat, (fine, fine))


def snap_to_step(value: int, step: int) -> int:
    """The multiple of `step` nearest `value` (ties go up), never below `step`."""
    return max(step, (int(value) + step // 2) // step * step)


def check_steps(repeat: Repeat | str, width: int, height: int, halvings: int, scale: int = 1,
                model: str = "this model", least: int = 1) -> None:
    """Raise RepeatError, in one sentence with the nearest sizes that work, when a side is not a
    multiple of its step (`size_steps`)."""
    repeat = parse_repeat(repeat)
    step_w, step_h = size_steps(repeat, halvings, scale, least)
    for side, value, step in (("width", width, step_w), ("height", height, step_h)):
        if value % step == 0:
            continue
        lower, upper = value // step * step, (value // step + 1) * step
        options = f"{lower} or {upper}" if lower else f"{upper}"
        if step > max(scale, least):
            raise RepeatError(
                f"{repeat.value} moves each {'column' if repeat is Repeat.HALF_DROP else 'row'} by half the tile's "
                f"{side}, and {model} works the tile down to 1/{step // 2} of its size, where half of {value} px is "
                f"{value / step:g} pixels: the {side} must be a multiple of {step} px for this repeat (try {options})")
        raise RepeatError(f"the {side} must be a multiple of {step} px for {model}: {value} is not (try {options})")


# -- the lookup -------------------------------------------------------------------------------
def plane_to_tile(repeat: Repeat | str, width: int, height: int, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Tile coordinates (tx, ty) of the integer plane positions (x, y); broadcasts like numpy.

    The tile's own pixels sit at 0 <= x < width, 0 <= y < height.
    """
    repeat = parse_repeat(repeat)
    x = np.asarray(x, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    if repeat is Repeat.BASIC:
        return np.broadcast_arrays(x % width, y % height)
    if repeat is Repeat.HALF_DROP:
        column = np.floor_divide(x, width)
        return np.broadcast_arrays(x % width, (y - column * (height // 2)) % height)
    if repeat is Repeat.HALF_BRICK:
        row = np.floor_divide(y, height)
        return np.broadcast_arrays((x - row * (width // 2)) % width, y % height)
    # mirror: odd columns are flipped left-right, odd rows top-bottom
    tx = x % width
    ty = y % height
    tx = np.where(np.floor_divide(x, width) % 2 == 1, width - 1 - tx, tx)
    ty = np.where(np.floor_divide(y, height) % 2 == 1, height - 1 - ty, ty)
    return np.broadcast_arrays(tx, ty)


@lru_cache(maxsize=64)
def _window_index(repeat: Repeat, width: int, height: int, x0: int, y0: int, w: int, h: int):
    xs = np.arange(x0, x0 + w)[None, :]
    ys = np.arange(y0, y0 + h)[:, None]
    tx, ty = plane_to_tile(repeat, width, height, xs, ys)
    tx, ty = np.ascontiguousarray(tx), np.ascontiguousarray(ty)
    tx.setflags(write=False)
    ty.setflags(write=False)
    return ty, tx


def window_index(repeat: Repeat | str, width: int, height: int, x0: int, y0: int, w: int, h: int):
    """(rows, cols) index maps, each h x w, for the plane window at (x0, y0). Cached, read-only."""
    return _window_index(parse_repeat(repeat), int(width), int(height), int(x0), int(y0), int(w), int(h))


@lru_cache(maxsize=64)
def _flat_index(repeat: Repeat, width: int, height: int, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    """The window's pixels as positions in the tile's rows laid end to end (rows * width + cols)."""
    rows, cols = _window_index(repeat, width, height, x0, y0, w, h)
    flat = rows * width + cols
    flat.setflags(write=False)
    return flat


def _is_torch(a: Any) -> bool:
    return type(a).__module__.split(".")[0] == "torch"


def _hw_axes(a: Any, axes: tuple[int, int] | None) -> tuple[int, int]:
    if axes is None:
        axes = (-2, -1) if _is_torch(a) else (0, 1)
    ndim = a.ndim
    return axes[0] % ndim, axes[1] % ndim


def window(tile: Any, repeat: Repeat | str, x0: int, y0: int, w: int, h: int,
           axes: tuple[int, int] | None = None) -> Any:
    """The plane seen through a w x h window whose top-left is at (x0, y0)."""
    ay, ax = _hw_axes(tile, axes)
    if ax != ay + 1:
        raise ValueError("the height axis must come just before the width axis")
    height, width = tile.shape[ay], tile.shape[ax]
    if isinstance(tile, np.ndarray) and tile.flags.c_contiguous:
        # one gather along the tile's pixels laid end to end: several times quicker than a 2-D index
        flat = _flat_index(parse_repeat(repeat), int(width), int(height), int(x0), int(y0), int(w), int(h))
        return tile.reshape((*tile.shape[:ay], height * width, *tile.shape[ax + 1:]))[(*(slice(None),) * ay, flat)]
    rows, cols = window_index(repeat, width, height, x0, y0, w, h)
    if _is_torch(tile):
        import torch

        rows = torch.from_numpy(rows.copy()).to(tile.device)  # the cached maps are read-only
        cols = torch.from_numpy(cols.copy()).to(tile.device)
    index = (slice(None),) * ay + (rows, cols)
    return tile[index]


def pad(tile: Any, p: int | tuple[int, int, int, int], repeat: Repeat | str,
        axes: tuple[int, int] | None = None) -> Any:
    """The tile with a border taken from its neighbours in the repeat.

    `p` is one width for every side or (left, right, top, bottom), like torch's F.pad.
    """
    left, right, top, bottom = (p, p, p, p) if isinstance(p, int) else p
    ay, ax = _hw_axes(tile, axes)
    height, width = tile.shape[ay], tile.shape[ax]
    return window(tile, repeat, -left, -top, width + left + right, height + top + bottom, axes)


def repeat_view(tile: Any, repeat: Repeat | str, cols: int = 3, rows: int = 3,
                axes: tuple[int, int] | None = None) -> Any:
    """`cols` x `rows` tiles of the plane, starting at the tile's own origin."""
    ay, ax = _hw_axes(tile, axes)
    height, width = tile.shape[ay], tile.shape[ax]
    return window(tile, repeat, 0, 0, cols * width, rows * height, axes)


def basic_period(repeat: Repeat | str, width: int, height: int) -> tuple[int, int]:
    """The smallest rectangle that repeats as a plain grid (what basic-only marketplaces take)."""
    repeat = parse_repeat(repeat)
    return {
        Repeat.BASIC: (width, height),
        Repeat.HALF_DROP: (2 * width, height),
        Repeat.HALF_BRICK: (width, 2 * height),
        Repeat.MIRROR: (2 * width, 2 * height),
    }[repeat]


def to_basic(tile: Any, repeat: Repeat | str, axes: tuple[int, int] | None = None) -> Any:
    """The equivalent basic tile: half-drop WxH -> 2WxH, half-brick -> Wx2H, mirror -> 2Wx2H."""
    ay, ax = _hw_axes(tile, axes)
    bw, bh = basic_period(repeat, tile.shape[ax], tile.shape[ay])
    return window(tile, repeat, 0, 0, bw, bh, axes)


# -- the lattice, for things placed on the plane ---------------------------------------------
def lattice(repeat: Repeat | str, width: int, height: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two vectors that generate the translations a design must be invariant under.

    For mirror the design inside the tile is free (the reflections make every edge meet
    itself), so content generators treat it like basic.
    """
    repeat = parse_repeat(repeat)
    if repeat is Repeat.HALF_DROP:
        return (width, height / 2), (0, height)
    if repeat is Repeat.HALF_BRICK:
        return (width, 0), (width / 2, height)
    return (width, 0), (0, height)


def content_period(repeat: Repeat | str, width: int, height: int) -> tuple[int, int]:
    """A rectangle px x py such that any design periodic on it is valid for this repeat.

    Every lattice vector is a whole number of px across and py down: half-drop gives
    (W, H/2), half-brick (W/2, H). Styles built from stripes and grids use it.
    """
    repeat = parse_repeat(repeat)
    if repeat is Repeat.HALF_DROP:
        return width, height // 2
    if repeat is Repeat.HALF_BRICK:
        return width // 2, height
    return width, height


def translates(repeat: Repeat | str, width: int, height: int, reach: int = 2) -> np.ndarray:
    """Lattice translations m*a + n*b (|m|, |n| <= reach) as an (N, 2) float array of (dx, dy)."""
    (ax_, ay_), (bx, by) = lattice(repeat, width, height)
    m, n = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1))
    m, n = m.ravel(), n.ravel()
    return np.stack([m * ax_ + n * bx, m * ay_ + n * by], axis=1).astype(np.float64)


def wrap_point(repeat: Repeat | str, width: int, height: int, x: float, y: float) -> tuple[float, float]:
    """Move a plane point by a lattice vector into the tile [0, W) x [0, H)."""
    repeat = parse_repeat(repeat)
    if repeat is Repeat.HALF_DROP:
        column = np.floor(x / width)
        return x - column * width, (y - column * height / 2) % height
    if repeat is Repeat.HALF_BRICK:
        row = np.floor(y / height)
        return (x - row * width / 2) % width, y - row * height
    return x % width, y % height


@dataclass(frozen=True)
class Placement:
    """Where a copy of the tile is drawn, and whether it is flipped (mirror)."""

    x: int
    y: int
    flip_x: bool = False
    flip_y: bool = False


def placements(repeat: Repeat | str, width: int, height: int, x0: float, y0: float,
               x1: float, y1: float) -> list[Placement]:
    """Every tile copy that overlaps the plane rectangle [x0, x1) x [y0, y1), for painters."""
    repeat = parse_repeat(repeat)
    out: list[Placement] = []
    for c in range(int(np.floor(x0 / width)) - 1, int(np.ceil(x1 / width)) + 2):
        drop = c * (height // 2) if repeat is Repeat.HALF_DROP else 0
        for r in range(int(np.floor((y0 - drop) / height)) - 1, int(np.ceil((y1 - drop) / height)) + 2):
            shift = r * (width // 2) if repeat is Repeat.HALF_BRICK else 0
            # half-brick shifts rows, so a row's columns are offset: re-index them by the shift
            cc = c - (shift // width) if shift else c
            x, y = cc * width + shift, r * height + drop
            if x + width <= x0 or x >= x1 or y + height <= y0 or y >= y1:
                continue
            flip = repeat is Repeat.MIRROR
            out.append(Placement(x, y, flip and c % 2 == 1, flip and r % 2 == 1))
    return out
