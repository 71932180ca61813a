"""Stripes, checks, gingham, plaid/tartan and houndstooth: designs made of bands and threads.

All are "box" periodic: drawn on the repeat's content rectangle, which the engine tiles.
Bands are box-filtered in 1-D (cheap, exact anti-aliasing for axis-aligned edges).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from desktop.engine.procedural.canvas import RenderContext, band_profile, lookup
from desktop.engine.procedural.params import GROUND, Param, Style
from desktop.errors import UserError

# Standard tartan colour letters: the colours themselves with colours='tartan'; with the palette, each
# letter takes the palette colour nearest its meaning (R the reddest, K the darkest).
TARTAN_COLOURS = {
    "K": "#101010", "W": "#f2f0e6", "R": "#b2182b", "B": "#1f3a93", "G": "#1b5e20", "Y": "#e3b505",
    "N": "#808080", "A": "#5dade2", "P": "#5b2c6f", "O": "#e67e22", "T": "#8d6e63", "C": "#c2185b",
    "M": "#7b1f3a", "LB": "#7fb3d5", "DB": "#0b1f4b", "DG": "#0b3d20", "DR": "#6e0b14", "LG": "#9ccc65",
}
_SETT_TOKEN = re.compile(r"^([A-Za-z]{1,3})/?(\d+)$")


def parse_sett(sett: str) -> list[tuple[str, int]]:
    """'K4 R24 K24 Y4' -> [('K', 4), ('R', 24), ...]. Raises UserError on anything else."""
    tokens = [t for t in re.split(r"[\s,]+", sett.strip()) if t]
    if not tokens:
        raise UserError("a sett needs at least one colour and thread count, such as 'K4 R24 K24 Y4'")
    out = []
    for token in tokens:
        match = _SETT_TOKEN.match(token)
        if not match:
            raise UserError(f"'{token}' is not a sett entry: use a colour letter and a thread count, like R24")
        letter, count = match.group(1).upper(), int(match.group(2))
        if count < 1 or count > 512:
            raise UserError(f"sett entry '{token}': thread counts run from 1 to 512")
        out.append((letter, count))
    return out


def sett_threads(entries: list[tuple[str, int]], symmetric: bool) -> list[str]:
    """The thread-by-thread colour letters of one sett repeat.

    A symmetric sett reflects about its first and last entries (pivots), as tartans do.
    """
    threads = [letter for letter, count in entries for _ in range(count)]
    if symmetric and len(entries) > 1:
        mirror = [letter for letter, count in reversed(entries[1:-1]) for _ in range(count)]
        threads = threads + mirror
    return threads


def _axis_profile(ctx: RenderContext, samples: int, boundaries: np.ndarray, colors: np.ndarray) -> np.ndarray:
    return band_profile(boundaries, colors, samples, footprint=1.0 / samples)


def _varied_boundaries(ctx: RenderContext, count: int, variation: float) -> np.ndarray:
    widths = 1.0 + variation * (ctx.rng.random(count) * 2.0 - 1.0) * 0.9
    edges = np.concatenate([[0.0], np.cumsum(widths)])
    return edges / edges[-1]


def render_stripes(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    count, direction = p["count"], p["direction"]
    boundaries = _varied_boundaries(ctx, count, p["variation"])
    colors = ctx.color_sequence(count)
    w, h = ctx.width, ctx.height
    if direction == "vertical":
        row = _axis_profile(ctx, w, boundaries, colors)
        return np.broadcast_to(row[None, :, :], (h, w, 3)).copy()
    if direction == "horizontal":
        col = _axis_profile(ctx, h, boundaries, colors)
        return np.broadcast_to(col[:, None, :], (h, w, 3)).copy()
    # diagonal: the band coordinate climbs by one per box across and per box down
    footprint = float(np.hypot(1.0 / w, 1.0 / h))
    lut = band_profile(boundaries, colors, 4096, footprint)
    s = ctx.xs() / w + ctx.ys() / h
    return lookup(lut, s)


def _parity_profile(n: int, samples: int) -> np.ndarray:
    boundaries = np.linspace(0.0, 1.0, n + 1)
    colors = np.tile(np.array([[0.0], [1.0]], np.float32), (n // 2 + 1, 1))[:n]
    return band_profile(boundaries, colors, samples, footprint=1.0 / samples)[:, 0]


def _even(n: int) -> int:
    return n + (n % 2)


def _rows_by_value(ay: np.ndarray, row: Callable[[float], np.ndarray]) -> np.ndarray:
    """An image whose row j is row(ay[j]): each distinct value's row is drawn once, then copied.

    Checks and gingham rows take only a handful of values (inside a band, or one of the few
    anti-aliased steps at its edges), so this is a few rows of arithmetic and a block copy.
    """
    values, inverse = np.unique(ay, return_inverse=True)
    rows = np.stack([row(float(v)) for v in values]).astype(np.float32)
    return np.take(rows, inverse.ravel(), axis=0)


def _two_tone(c0: np.ndarray, c1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per pixel of a row: c0 where t is 0, c1 where it is 1, mixed between."""
    return c0[None, :] * (1 - t[:, None]) + c1[None, :] * t[:, None]


def render_checks(ctx: RenderContext) -> np.ndarray:
    nx = _even(ctx.params["cells"])
    ny = _even(max(2, round(nx * ctx.height / ctx.width)))
    ax = _parity_profile(nx, ctx.width)
    ay = _parity_profile(ny, ctx.height)
    light = int(np.argmax(ctx.colors.sum(1)))
    dark = int(np.argmin(ctx.colors.sum(1)))
    c0, c1 = ctx.colors[light], ctx.colors[dark] if dark != light else 1 - ctx.colors[light]
    return _rows_by_value(ay, lambda a: _two_tone(c0, c1, ax + a - 2 * ax * a))


def render_gingham(ctx: RenderContext) -> np.ndarray:
    nx = _even(ctx.params["cells"])
    ny = _even(max(2, round(nx * ctx.height / ctx.width)))
    ax = _parity_profile(nx, ctx.width)
    ay = _parity_profile(ny, ctx.height)
    ground = ctx.colors[ctx.ground_index(int(np.argmax(ctx.colors.sum(1))))]  # the lightest, unless told
    ink = ctx.colors[int(ctx.params["colour"]) % len(ctx.colors)]
    return _rows_by_value(ay, lambda a: _two_tone(ground, ink, (ax + a) / 2.0))


def _weave(ctx: RenderContext, warp: np.ndarray, weft: np.ndarray, weave: str, shading: float) -> np.ndarray:
    """Interlace warp (per column thread colours) and weft (per row) threads.

    `warp` is (Nx, 3), `weft` (Ny, 3): the thread colours of one box, threads spread evenly.
    Each pixel shows either its column's warp thread or its row's weft thread, so the image
    is one gather from the W + H thread colours (shaded across each thread's width first).
    """
    w, h = ctx.width, ctx.height
    nx, ny = len(warp), len(weft)
    tx = (ctx.xs()[0] * nx / w)  # thread coordinate across
    ty = (ctx.ys()[:, 0] * ny / h)
    i = np.floor(tx).astype(np.int64) % nx
    j = np.floor(ty).astype(np.int64) % ny
    col_warp = warp[i]
    row_weft = weft[j]
    if weave == "flat":
        return (0.5 * (col_warp[None, :, :] + row_weft[:, None, :])).astype(np.float32)
    if shading > 0:
        # a thread is rounder in its middle: darken towards its edges, across its width
        fx, fy = tx - np.floor(tx), ty - np.floor(ty)
        col_warp = col_warp * (1 - shading * (2 * fx - 1) ** 2)[:, None]
        row_weft = row_weft * (1 - shading * (2 * fy - 1) ** 2)[:, None]
    period = 4 if weave == "twill" else 2
    # warp on top where (i + j) % period < period / 2: one mask per row class j % period
    over = ((np.arange(period)[:, None] + i[None, :]) % period) < period // 2
    index = np.where(np.take(over, j % period, axis=0), np.arange(w, dtype=np.int32)[None, :],
                     (w + np.arange(h, dtype=np.int32))[:, None])
    colours = np.concatenate([col_warp, row_weft]).astype(np.float32)
    return np.take(colours, index, axis=0)


def _threads_multiple(threads: list, repeats: int, multiple: int) -> list:
    """Repeat the thread list `repeats` times, then more until its length is a multiple."""
    out = threads * repeats
    while len(out) % multiple:
        out += threads
    return out


def check_plaid(params: dict) -> None:
    letters = {letter for letter, _ in parse_sett(params["sett"])}
    unknown = sorted(letters - set(TARTAN_COLOURS))
    if params["colours"] == "tartan" and unknown:
        raise UserError(f"unknown tartan colour letter(s) {', '.join(unknown)}; "
                        f"known: {' '.join(sorted(TARTAN_COLOURS))}, or use colours=palette")


def sett_inks(letters: list[str], colors: np.ndarray) -> dict[str, int]:
    """Which palette colour (index) each sett letter takes. A letter that names a colour (R red, K black,
    Y yellow, G green, B blue, W white, ...) takes the palette colour nearest that colour (CIEDE2000),
    each letter its own colour where the palette has enough; other letters take the colours left over,
    in order."""
    from scipy.optimize import linear_sum_assignment

    from desktop.engine.qa.colour import delta_e2000, srgb_to_lab
    from desktop.palettes import parse_hex

    named = [letter for letter in letters if letter in TARTAN_COLOURS]
    out: dict[str, int] = {}
    if named:
        meant = srgb_to_lab(np.array([parse_hex(TARTAN_COLOURS[letter]) for letter in named], np.float32) / 255)
        have = srgb_to_lab(np.asarray(colors, np.float32))
        cost = delta_e2000(meant[:, None, :], have[None, :, :])
        if len(named) <= len(colors):
            rows, cols = linear_sum_assignment(cost)
            out = {named[r]: int(c) for r, c in zip(rows, cols)}
        else:
            out = {letter: int(k) for letter, k in zip(named, cost.argmin(axis=1))}
    left = [k for k in range(len(colors)) if k not in out.values()] or list(range(len(colors)))
    for n, letter in enumerate(letter for letter in letters if letter not in out):
        out[letter] = left[n % len(left)]
    return out


def plaid_notes(params: dict, colors: np.ndarray) -> list[str]:
    """Which palette colour each sett letter took, in one sentence (with colours=palette)."""
    if params["colours"] != "palette":
        return []
    from desktop.palettes import to_hex

    letters = list(dict.fromkeys(letter for letter, _ in parse_sett(params["sett"])))
    chosen = sett_inks(letters, colors)
    return ["the sett's letters took " + ", ".join(
        f"{letter} {to_hex(np.round(np.asarray(colors[chosen[letter]]) * 255))}" for letter in letters) + " from the palette"]


def render_plaid(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    entries = parse_sett(p["sett"])
    threads = sett_threads(entries, p["symmetric"])
    letters = list(dict.fromkeys(letter for letter, _ in entries))
    if p["colours"] == "tartan":
        from desktop.palettes import parse_hex

        table = {letter: np.asarray(parse_hex(TARTAN_COLOURS[letter]), np.float32) / 255 for letter in letters}
    else:
        chosen = sett_inks(letters, ctx.colors)
        table = {letter: ctx.colors[chosen[letter]] for letter in letters}
    multiple = {"twill": 4, "plain": 2}.get(p["weave"], 1)
    seq = _threads_multiple(threads, p["repeats"], multiple)
    colors = np.stack([table[letter] for letter in seq]).astype(np.float32)
    return _weave(ctx, colors, colors, p["weave"], 0.12 if p["weave"] != "flat" else 0.0)


def render_houndstooth(ctx: RenderContext) -> np.ndarray:
    repeats = ctx.params["repeats"]
    a, b = ctx.colors[0], ctx.colors[-1] if len(ctx.colors) > 1 else 1 - ctx.colors[0]
    unit = [a] * 4 + [b] * 4
    # shift the colour blocks by two threads against the twill so the teeth form
    unit = unit[2:] + unit[:2]
    threads = np.stack(unit * repeats).astype(np.float32)
    return _weave(ctx, threads, threads, "twill", 0.0)


STYLES = [
    Style("stripes", "Stripes", "Stripes of varied widths in the palette's colours.", render_stripes, (
        Param("direction", str, "vertical", "Which way the stripes run.", choices=("vertical", "horizontal", "diagonal")),
        Param("count", int, 9, "Stripes per repeat.", 1, 256),
        Param("variation", float, 0.6, "How much stripe widths vary (0 = all equal).", 0.0, 1.0),
    ), family="stripes"),
    Style("checks", "Checks", "A two-colour checkerboard.", render_checks, (
        Param("cells", int, 8, "Squares across one repeat (rounded up to even).", 2, 256),
    ), family="stripes"),
    Style("gingham", "Gingham", "Gingham: a colour crossed with itself over a ground (the lightest colour), in three tones.",
          render_gingham, (
        Param("cells", int, 12, "Bands across one repeat (rounded up to even).", 2, 256),
        Param("colour", int, 1, "Which palette colour is the ink (0 = first).", 0, 63), GROUND,
    ), family="stripes"),
    Style("plaid", "Plaid / tartan", "A woven plaid from a thread-count string (sett).", render_plaid, (
        Param("sett", str, "K4 R24 K24 Y4", "Colour letters with thread counts; each letter takes the palette "
              "colour nearest its meaning (R red, K black, Y yellow, G green, B blue, W white, ...)."),
        Param("repeats", int, 2, "Sett repeats across the tile.", 1, 64),
        Param("symmetric", bool, True, "Reflect the sett about its ends, as most tartans do."),
        Param("weave", str, "twill", "How the threads cross.", choices=("twill", "plain", "flat")),
        Param("colours", str, "palette", "Letters map to the palette, or to standard tartan colours.",
              choices=("palette", "tartan")),
    ), family="woven", check=check_plaid, notes=plaid_notes),
    Style("houndstooth", "Houndstooth", "Classic four-and-four houndstooth, woven in 2/2 twill.",
          render_houndstooth, (
        Param("repeats", int, 8, "Houndstooth units across one repeat.", 1, 256),
    ), family="woven"),
]
