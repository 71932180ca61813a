"""Kaleidoscopes: a region of an image (a photo, a scan, a painting) folded by mirrors into a tile.

Four of the seventeen wallpaper groups are made of mirrors alone: pmm (a rectangle), p4m (the
45-45-90 triangle), p3m1 (the equilateral triangle) and p6m (the 30-60-90 triangle). Every edge
of their fundamental region is a mirror, so folding the plane into that region is continuous
everywhere: a plane point is reduced by the group's rectangular period, then reflected across
whichever mirror it lies beyond until it lies inside the region (at most a few reflections), and
the region is a window onto the image. Whatever the image, the result has no seam, neither at
the mirrors nor at the tile's edges, under every repeat; a group with a rotation or a glide
would join unrelated edges of the image, so only these four are offered.

The geometry is exact in lattice coordinates (as the wallpaper groups are): the tile holds a whole
number of periods, so a square or hexagonal period may be stretched in pixels, by at most 6 %
where some count of periods allows it (`periods`). The seed moves and turns the window
(`jitter`), so Count 4 gives four kaleidoscopes of one image. The triangle groups' lattices are
centred, so on a half-drop or half-brick tile they take the tile's offset as one of their own
translations and are truly dropped (`offset_axis`); the others are drawn on the repeat's content
rectangle. Colours are the palette's inks
(flat), the image's inks moved onto the palette (`colourways.colourway`), or the image's own.
"""

from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np

from desktop.engine.procedural.canvas import RenderContext
from desktop.engine.procedural.params import Param, Style
from desktop.errors import UserError
from desktop.repeat import Repeat, content_period

S3 = float(np.sqrt(3.0))


def _plane(nx: float, ny: float, d: float) -> tuple[float, float, float]:
    """The half-plane nx*x + ny*y <= d, with (nx, ny) made a unit normal."""
    n = float(np.hypot(nx, ny))
    return nx / n, ny / n, d / n


# group -> (the rectangular period in lattice units, the fundamental region's corners, its mirrors
# as half-planes, inside where n.p <= d, and whether lines across (x) and down (y) every half
# period are mirrors too, so the plane can first be folded onto a quarter period by a zigzag)
GROUPS: dict[str, tuple[tuple[float, float], tuple, tuple, tuple[bool, bool]]] = {
    "pmm": ((1.0, 1.0), ((0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)),
            (_plane(-1, 0, 0), _plane(1, 0, 0.5), _plane(0, -1, 0), _plane(0, 1, 0.5)), (True, True)),
    "p4m": ((1.0, 1.0), ((0, 0), (0.5, 0), (0.5, 0.5)),
            (_plane(0, -1, 0), _plane(1, 0, 0.5), _plane(-1, 1, 0)), (True, True)),
    "p3m1": ((3.0, S3), ((0, 0), (1, 0), (0.5, S3 / 2)),
             (_plane(0, -1, 0), _plane(-S3, 1, 0), _plane(S3, 1, S3)), (False, True)),
    "p6m": ((1.0, S3), ((0, 0), (0.5, 0), (0.5, S3 / 6)),
            (_plane(0, -1, 0), _plane(1, 0, 0.5), _plane(-1, S3, 0)), (True, True)),
}
GROUP_NAMES = tuple(GROUPS)
MARBLE = 384  # the side of the marble folded when no image is given
KEPT_PIXELS = 2048 * 2048  # the largest area whose folded coordinates are kept (32 MB)
INK_SAMPLE = 20_000  # pixels of the window its inks are found from
MAX_REFLECTIONS = 64  # far more than a point needs (see `fold`)
INSIDE = 1e-6  # lattice units a point may lie beyond a mirror and count as on it (float32 rounding)


def fold(x: np.ndarray, y: np.ndarray, group: str) -> tuple[np.ndarray, np.ndarray]:
    """Plane points (lattice units, float32 or float64, contiguous arrays) folded into the group's
    fundamental region, in place. At most three rounds of reflections follow the zigzags (p3m1;
    p6m two, p4m one, pmm none: measured on 200,000 points spread over 40 x 40 lattice units)."""
    if not (x.flags.c_contiguous and y.flags.c_contiguous and x.flags.writeable and y.flags.writeable):
        raise ValueError("fold works in place on contiguous, writeable arrays")
    (pw, ph), _, mirrors, (zig_x, zig_y) = GROUPS[group]
    for axis, period, zigzag in ((x, pw, zig_x), (y, ph, zig_y)):
        np.mod(axis, period, out=axis)
        if zigzag:  # t -> min(t, period - t): the mirror at half the period
            np.minimum(axis, axis.dtype.type(period) - axis, out=axis)
    # then reflections across whichever mirror a point lies beyond: every point once, then only
    # those that moved (a reflection can put a point beyond another mirror)
    flat_x, flat_y = x.reshape(-1), y.reshape(-1)
    todo = None
    for _ in range(MAX_REFLECTIONS):
        px, py = (flat_x, flat_y) if todo is None else (flat_x[todo], flat_y[todo])
        moved = None
        for nx, ny, d in mirrors:
            beyond = px * px.dtype.type(nx)
            beyond += py * py.dtype.type(ny)
            beyond -= px.dtype.type(d)
            out = beyond > INSIDE
            if not out.any():
                continue
            beyond *= out
            beyond *= 2
            px -= beyond * px.dtype.type(nx)
            py -= beyond * py.dtype.type(ny)
            moved = out if moved is None else moved | out
        if moved is None:
            return x, y
        if todo is not None:
            flat_x[todo], flat_y[todo] = px, py
        todo = np.flatnonzero(moved) if todo is None else todo[moved]
    raise RuntimeError(f"{group}: a point did not fold into the fundamental region")  # a geometry error


TRUE_SHAPE = 0.06  # how far (as a ratio) a period may be stretched from its true shape


def periods(group: str, width: int, height: int, cells: int, offset: str = "") -> tuple[float, float]:
    """How many rectangular periods across and down the area holds: `cells` across, and as many
    down as keep the period nearest its true shape. A rectangle (pmm) may take any shape; a
    triangle's mirrors meet at set angles, so where `cells` across would stretch its period by more
    than TRUE_SHAPE, the first count up to four times as many that does not is taken (else the
    truest of them).

    `offset` ("x" or "y") is for a hexagonal group drawn on a whole half-drop ("x") or half-brick
    ("y") tile: its lattice is centred, so the tile's own offset is one of its translations when
    the tile holds a whole number and a half of periods along that axis and an odd number along
    the other (half-drop: (W, H/2) is then a lattice vector; half-brick: (W/2, H))."""
    pw, ph = GROUPS[group][0]

    def snap(value: float, halves: bool, odd: bool) -> float:
        if halves:  # 0.5, 1.5, 2.5, ...
            return max(0.5, np.floor(value) + 0.5)
        if odd:  # 1, 3, 5, ...
            return float(max(1, 2 * round((value - 1) / 2) + 1))
        return float(max(1, round(value)))

    def fit(nx: float) -> tuple[float, float, float]:
        ny = snap(height / (width / nx * ph / pw), offset == "y", offset == "x")
        return abs(np.log((width / nx) / (height / ny) * ph / pw)), nx, ny

    start = snap(cells, offset == "x", offset == "y")
    step = 2.0 if offset == "y" else 1.0
    first = fit(start)
    if group == "pmm" or first[0] <= np.log1p(TRUE_SHAPE):
        return first[1:]
    tries = [fit(start + step * k) for k in range(1, int((4 * max(1, cells) - start) / step) + 1)]
    good = next((t for t in tries if t[0] <= np.log1p(TRUE_SHAPE)), None)
    return (good or min([first, *tries]))[1:]


def offset_axis(group: str, repeat: Repeat) -> str:
    """"x" or "y" where the kaleidoscope's own lattice can take the tile's offset (a hexagonal group
    on a half-drop or half-brick: drawn on the whole tile, truly dropped); "" where it is drawn on
    the repeat's content rectangle and laid out through it."""
    if group not in ("p3m1", "p6m"):
        return ""
    return {Repeat.HALF_DROP: "x", Repeat.HALF_BRICK: "y"}.get(repeat, "")


def folded(group: str, width: int, height: int, nx: float, ny: float) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel centre of a width x height area holding nx x ny periods, folded (lattice units,
    read-only). Kept for the next tile of the same size (a batch, or a new seed) up to KEPT_PIXELS."""
    if width * height <= KEPT_PIXELS:
        return _folded_kept(group, width, height, nx, ny)
    return _fold_area(group, width, height, nx, ny)


@lru_cache(maxsize=2)
def _folded_kept(group: str, width: int, height: int, nx: float, ny: float) -> tuple[np.ndarray, np.ndarray]:
    return _fold_area(group, width, height, nx, ny)


def _fold_area(group: str, width: int, height: int, nx: float, ny: float) -> tuple[np.ndarray, np.ndarray]:
    pw, ph = GROUPS[group][0]
    xs = (np.arange(width, dtype=np.float32) + np.float32(0.5)) * np.float32(nx * pw / width)
    ys = (np.arange(height, dtype=np.float32) + np.float32(0.5)) * np.float32(ny * ph / height)
    lx, ly = np.broadcast_to(xs[None, :], (height, width)).copy(), np.broadcast_to(ys[:, None], (height, width)).copy()
    fold(lx, ly, group)
    lx.setflags(write=False)
    ly.setflags(write=False)
    return lx, ly


@lru_cache(maxsize=2)
def _image(path: str, mtime: float) -> np.ndarray:
    from desktop.engine.images import load_rgb

    rgb = load_rgb(path)
    if min(rgb.shape[:2]) < 8:
        raise UserError(f"{path}: the image is too small to make a kaleidoscope from ({rgb.shape[1]}x{rgb.shape[0]})")
    rgb.setflags(write=False)
    return rgb


def source_image(ctx: RenderContext) -> np.ndarray:
    """The image to fold: the file the options name, else a marble in the brief's palette."""
    path = ctx.params.get("image_path") or ""
    if not path:
        from desktop.engine.procedural.noise import STYLES as NOISE

        marble = next(style for style in NOISE if style.name == "marble")
        drawn = marble.render(RenderContext(MARBLE, MARBLE, MARBLE, MARBLE, Repeat.BASIC, ctx.palette, ctx.seed,
                                            marble.resolve({"scale": 2, "warp": 1.5})))
        return (np.clip(drawn, 0, 1) * 255 + 0.5).astype(np.uint8)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        raise UserError(f"{path}: no such image") from None
    return _image(path, mtime)


def placement(params: dict, width: int, height: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Where the window lies on a width x height image: the 2 x 3 affine map from lattice units
    to image pixels (pixel k's centre at k + 0.5). The window is the fundamental region's bounding
    box, `zoom` of the image's shorter side, centred at (`x`, `y`) and turned by `rotation`; the
    seed (`rng`) moves and turns it by up to `jitter`, keeping it inside the image where it fits."""
    corners = np.asarray(GROUPS[params["group"]][1], np.float64)
    low, high = corners.min(0), corners.max(0)
    side_px = params["zoom"] * min(width, height)
    per_unit = side_px / float((high - low).max())  # image pixels per lattice unit
    jitter = params["jitter"] if rng is not None else 0.0
    rng = rng or np.random.default_rng(0)
    turn = np.deg2rad(params["rotation"] + 180.0 * jitter * rng.uniform(-1, 1))
    reach = side_px * np.sqrt(2) / 2  # the turned window's half diagonal at most
    room_x, room_y = max(0.0, width / 2 - reach), max(0.0, height / 2 - reach)
    cx = np.clip(params["x"] * width + jitter * room_x * rng.uniform(-1, 1), reach, width - reach) \
        if room_x else width / 2
    cy = np.clip(params["y"] * height + jitter * room_y * rng.uniform(-1, 1), reach, height - reach) \
        if room_y else height / 2
    cos, sin = np.cos(turn) * per_unit, np.sin(turn) * per_unit
    centre = (low + high) / 2
    return np.array([[cos, -sin, cx - cos * centre[0] + sin * centre[1]],
                     [sin, cos, cy - sin * centre[0] - cos * centre[1]]])


def outline(params: dict, width: int, height: int) -> np.ndarray:
    """The fundamental region's corners on a width x height image (image pixels), as drawn with
    no jitter: what a person choosing the window sees."""
    affine = placement(params, width, height)
    corners = np.asarray(GROUPS[params["group"]][1], np.float64)
    return (affine[:, :2] @ corners.T + affine[:, 2:]).T


def render_kaleidoscope(ctx: RenderContext) -> np.ndarray:
    """The whole tile: a hexagonal group truly dropped on a half-drop or half-brick tile, else the
    repeat's content rectangle laid out over it (a design periodic on it is valid for the repeat)."""
    offset = offset_axis(ctx.params["group"], ctx.repeat)
    width, height = (ctx.width, ctx.height) if offset else content_period(ctx.repeat, ctx.width, ctx.height)
    drawn = _draw(ctx, width, height, offset)
    if (width, height) != (ctx.width, ctx.height):
        drawn = np.tile(drawn, (ctx.height // height, ctx.width // width, 1))
    return drawn


def _draw(ctx: RenderContext, width: int, height: int, offset: str) -> np.ndarray:
    p = ctx.params
    group = p["group"]
    (pw, ph), corners, _, _ = GROUPS[group]
    corners = np.asarray(corners, np.float64)
    src = source_image(ctx)
    sh, sw = src.shape[:2]
    affine = placement(p, sw, sh, ctx.rng)
    per_unit = float(np.hypot(*affine[:, 0]))
    # every pixel's centre in lattice units, folded, then placed in the window (image pixels)
    nx, ny = periods(group, width, height, p["cells"], offset)
    ux, uy = nx * pw / width, ny * ph / height
    lx, ly = folded(group, width, height, nx, ny)
    # the window in image pixels (pixel k's centre at k + 0.5): an affine map of the region, whose
    # corners bound it; only that part of the image is worked on, at the tile's own density:
    # shrunk (a lookup alone would alias the detail the tile cannot show) or enlarged (so that
    # flat inks get their edges at the tile's resolution, antialiased by the lookup's interpolation)
    bounds = affine[:, :2] @ corners.T + affine[:, 2:]
    x0, x1 = max(0, int(bounds[0].min()) - 2), min(sw, int(np.ceil(bounds[0].max())) + 2)
    y0, y1 = max(0, int(bounds[1].min()) - 2), min(sh, int(np.ceil(bounds[1].max())) + 2)
    window = src[y0:y1, x0:x1]
    inks = None
    if p["colours"] != "image":  # the window's own inks, from the image as it is (a sample will do)
        from desktop.engine.colourways import design_inks

        inks = design_inks(window, len(ctx.palette.colors), sample=INK_SAMPLE)
    scale = float(np.clip(1.0 / (per_unit * max(ux, uy)), 1.0 / 64, 8.0))
    if abs(scale - 1.0) > 1e-3:
        size = (max(2, round(window.shape[1] * scale)), max(2, round(window.shape[0] * scale)))
        window = cv2.resize(window, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    if inks is not None:
        from desktop.engine.colourways import colourway

        window = colourway(np.ascontiguousarray(window), ctx.palette, inks=inks, flat=p["colours"] == "flat").image
    ctx.progress(0.6)
    # into the window's pixels (cv2 puts pixel k's centre at k): one affine map per axis, in float32
    into = np.diag([window.shape[1] / (x1 - x0), window.shape[0] / (y1 - y0)]) @ (affine - [[0, 0, x0], [0, 0, y0]])
    into[:, 2] -= 0.5
    maps = []
    for a, b, c in into.astype(np.float32):
        axis = lx * a
        axis += ly * b
        axis += c
        maps.append(axis)
    drawn = cv2.remap(np.ascontiguousarray(window), *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    ctx.progress(1.0)
    return drawn.astype(np.float32) / 255.0


STYLES = [
    Style("kaleidoscope", "Kaleidoscope", "A region of an image (a photo, a scan, a painting) folded by mirrors "
          "into a seamless tile; without an image, a marble in the palette.", render_kaleidoscope, (
        Param("image_path", str, "", "The image to fold: a photo, a scan, a painting.",
              empty="a marble in the palette"),
        Param("group", str, "p6m", "The mirrors: pmm a rectangle, p4m a square's eighth, p3m1 a triangle, "
              "p6m a triangle's sixth.", choices=GROUP_NAMES),
        Param("cells", int, 2, "Periods across the tile (more where the tile's shape needs them to keep the "
              "mirrors' angles true).", 1, 32),
        Param("zoom", float, 0.35, "The window's size as a share of the image's shorter side.", 0.02, 1.0),
        Param("x", float, 0.5, "The window's centre across the image (0..1).", 0.0, 1.0),
        Param("y", float, 0.5, "The window's centre down the image (0..1).", 0.0, 1.0),
        Param("rotation", float, 0.0, "The window's turn in degrees.", -360.0, 360.0),
        Param("jitter", float, 0.5, "How far the seed moves and turns the window (0: exactly as set).", 0.0, 1.0),
        Param("colours", str, "flat", "flat: the palette's colours alone (as printed inks); palette: the image's "
              "inks moved onto the palette, keeping its shading; image: the image's own.",
              choices=("flat", "palette", "image")),
    ), periodic="lattice", family="symmetry",
        palette_unused=lambda p: ("Not compared: colours=image keeps the image's own colours, not the brief's "
                                  "palette." if p["colours"] == "image" else None)),
]
