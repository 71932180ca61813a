"""Seam oracles for tests, written apart from desktop/repeat.py.

The generators place content through desktop/repeat.py, so a check that also wrapped through it
would share any mistake there. Here each repeat's wrap and content rectangle are written out
again, by hand, from their definitions (Spoonflower's):

- basic: the tile's right neighbour is itself, and so is the one below;
- half-drop: the column of tiles to the right is moved down by H/2;
- half-brick: the row of tiles below is moved right by W/2;
- mirror: the neighbour to the right is mirrored left-right, the one below top-bottom.

Two oracles:

- `seam_ratios`: the mean step across each wrapped edge against the largest interior step. Right
  for continuous designs (noise, marble, scatters); a hard-edged design can hide a broken edge in
  it, because a mean over the edge is no larger than a real boundary's.
- `plane_mismatch`: for the "box" styles (bands, grids, geometric and wallpaper designs), the style
  itself is asked for its plane: it draws the repeat's content rectangle, the plane is that
  rectangle tiled, and the tile and the pixels across each of its wrapped edges are compared,
  column by column and row by row, with what the plane has there. Exact (0 for a right tile), so
  one misplaced row is caught.
"""

from __future__ import annotations

import numpy as np


def neighbours(tile: np.ndarray, repeat: str) -> tuple[np.ndarray, np.ndarray]:
    """(the column just right of the tile, the row just below it), as the repeat places them."""
    h, w = tile.shape[:2]
    first_col, first_row = tile[:, 0], tile[0, :]
    if repeat == "basic":
        return first_col, first_row
    if repeat == "half-drop":  # the right-hand column of tiles sits H/2 lower: its row y is our y - H/2
        return np.roll(first_col, h // 2, axis=0), first_row
    if repeat == "half-brick":  # the row of tiles below sits W/2 further right
        return first_col, np.roll(first_row, w // 2, axis=0)
    if repeat == "mirror":  # mirrored neighbours: the edge meets itself
        return tile[:, -1], tile[-1, :]
    raise ValueError(f"no such repeat: {repeat}")


def content_box(repeat: str, width: int, height: int) -> tuple[int, int]:
    """The rectangle whose plain tiling is valid for the repeat (a half-drop is H/2-periodic down)."""
    return {"half-drop": (width, height // 2), "half-brick": (width // 2, height)}.get(repeat, (width, height))


def seam_ratios(tile: np.ndarray, repeat: str) -> tuple[float, float]:
    """(across the right edge, across the bottom edge), each divided by the largest interior step.

    Interior steps are mean absolute differences between adjacent columns (rows). A tile
    that continues across its edges has ratios <= 1: the wrap is just another interior step.
    """
    img = tile.astype(np.float64)
    right, below = neighbours(img, repeat)
    wrap_x = np.abs(right - img[:, -1]).mean()
    wrap_y = np.abs(below - img[-1, :]).mean()
    inner_x = np.abs(np.diff(img, axis=1)).mean(axis=(0, 2)).max()
    inner_y = np.abs(np.diff(img, axis=0)).mean(axis=(1, 2)).max()
    eps = 1e-9
    return (wrap_x + eps) / (inner_x + eps), (wrap_y + eps) / (inner_y + eps)


def style_plane(style: str, params: dict, repeat: str, width: int, height: int, palette, seed: int,
                cols: int = 2, rows: int = 2) -> np.ndarray:
    """A box style's own plane from the tile's origin, `cols` x `rows` tiles of it: the style draws
    the content rectangle (through its own render, not the engine's), and the plane is that tiled."""
    from desktop.engine import procedural
    from desktop.engine.procedural.canvas import RenderContext
    from desktop.repeat import Repeat

    spec = procedural.get_style(style)
    assert spec.periodic == "box", f"{style} is not drawn on a content rectangle"
    box_w, box_h = content_box(repeat, width, height)
    values, palette = procedural.design(spec, params, palette, seed)  # the seed's variant, as render draws it
    ctx = RenderContext(box_w, box_h, width, height, Repeat(repeat), palette, int(seed), values)
    box = np.clip(np.asarray(spec.render(ctx), dtype=np.float32), 0.0, 1.0)
    return np.tile(box, ((rows * height) // box_h + 1, (cols * width) // box_w + 1, 1))[:rows * height, :cols * width]


def plane_mismatch(tile: np.ndarray, style: str, params: dict, repeat: str, palette, seed: int) -> float:
    """The largest difference between the tile, with the pixels across its wrapped edges, and the
    style's own plane there: 0 for a right tile (up to float rounding)."""
    h, w = tile.shape[:2]
    plane = style_plane(style, params, repeat, w, h, palette, seed)
    if repeat == "mirror":  # its neighbours are the tile mirrored, not the box continued: each edge meets itself
        return float(np.abs(tile - plane[:h, :w]).max())
    right, below = neighbours(tile, repeat)
    return float(max(np.abs(tile - plane[:h, :w]).max(),  # the tile is the style's design
                     np.abs(right - plane[:h, w]).max(),  # what lies across the right edge
                     np.abs(below - plane[h, :w]).max()))  # and across the bottom edge
