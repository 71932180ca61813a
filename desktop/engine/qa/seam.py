"""The seam check: is the step across each wrapped edge just another step of this tile?

Two numbers, both taken through the repeat geometry (so half-drop and half-brick
neighbours are the right ones):

- `ratio`: the mean step across the wrap ÷ the mean step between interior neighbours. A
  seamless tile scores about 1; a cut through a texture scores 2 and up.
- `ratio_vs_strongest`: the same step ÷ the tile's strongest interior column (row) step.
  A pattern whose edge runs along a line or a mortar joint has a high `ratio`, but the same
  line also occurs inside the tile, so this stays near 1.

A seam fails only when both are high. The second view rolls the seam into the centre and
compares the gradient energy of the band around it with the median band of the tile
(`centre_band_energy_ratio` in the details). The heatmap draws the per-pixel wrap step,
against the tile's own strong steps, along the edges where it breaks.
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop.engine.qa.report import FAIL, PASS, CheckResult
from desktop.repeat import Repeat, parse_repeat, window


def step_means(img: np.ndarray, axis: int) -> np.ndarray:
    """Mean absolute step between neighbouring columns (axis 1) or rows (axis 0), over channels.

    `img` is HxW or HxWxC, uint8 or float32 (other types go through numpy)."""
    h, w = img.shape[:2]
    c = img.shape[2] if img.ndim == 3 else 1
    if img.dtype not in (np.uint8, np.float32):
        return np.abs(np.diff(img.reshape(h, w, c), axis=axis)).mean(axis=(0, 2) if axis == 1 else (1, 2))
    # absdiff (saturating for uint8) and a float reduce: exact, and fast (rows need no transpose)
    if axis == 1:
        steps = cv2.absdiff(img[:, 1:], img[:, :-1])  # column slices are regions OpenCV reads as they are
        sums = cv2.reduce(steps.reshape(h, -1), 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F)
        return sums.reshape(w - 1, c).sum(axis=1) / (h * c)
    steps = cv2.absdiff(img[1:], img[:-1])  # row slices of a contiguous image are contiguous
    sums = cv2.reduce(steps.reshape(h - 1, -1), 1, cv2.REDUCE_SUM, dtype=cv2.CV_32F)
    return sums.ravel() / (w * c)


def _edge_stats(img: np.ndarray, repeat: Repeat) -> dict[str, np.ndarray | float]:
    h, w = img.shape[:2]
    # the neighbours the repeat puts just right of the right edge and just below the bottom edge
    right = window(img, repeat, w, 0, 1, h)[:, 0].astype(np.float32)
    below = window(img, repeat, 0, h, w, 1)[0].astype(np.float32)
    wrap_x = np.abs(right - img[:, w - 1].astype(np.float32)).mean(axis=-1)
    wrap_y = np.abs(below - img[h - 1].astype(np.float32)).mean(axis=-1)
    return {"wrap_x": wrap_x, "wrap_y": wrap_y, "cols": step_means(img, 1), "rows": step_means(img, 0)}


def band_energy_ratio(stats: dict, band: int = 2) -> float:
    """Second view: the seam rolled into the centre; the centre band's step energy ÷ the median band's.

    Rolling a tile by half through its repeat keeps every column (row) step of the tile, moved
    round, and puts the wrap step in the middle (a half-drop's vertical shift does not change a
    column's mean step), so the rolled profile is made from the seam statistics themselves.
    """
    out = 0.0
    for steps, wrap in ((stats["cols"], stats["wrap_x"]), (stats["rows"], stats["wrap_y"])):
        shift = (len(steps) + 1) // 2
        energy = np.roll(np.append(steps, wrap.mean()), shift)  # the wrap step was last: now mid-way
        middle = (len(steps) + shift) % len(energy)
        n = len(energy) // (2 * band + 1)
        bands = energy[: n * (2 * band + 1)].reshape(n, -1).mean(axis=1)
        centre = energy[max(0, middle - band):middle + band + 1].mean()
        out = max(out, float(centre / max(np.median(bands), 1e-6)))
    return out


def seam_heatmap(stats: dict, h: int, w: int, reference: float, width: int) -> np.ndarray:
    """Where the seam breaks: per-pixel wrap steps over the interior reference, drawn along the edges."""
    heat = np.zeros((h, w), np.float32)
    sx = np.clip(stats["wrap_x"] / (2.0 * reference) - 0.25, 0, 1).astype(np.float32)
    sy = np.clip(stats["wrap_y"] / (2.0 * reference) - 0.25, 0, 1).astype(np.float32)
    fade = np.linspace(1.0, 0.2, width, dtype=np.float32)
    across = sx[:, None] * fade[None, :]  # (h, width): strongest at the edge
    heat[:, :width] = across
    heat[:, w - width:] = across[:, ::-1]
    down = sy[None, :] * fade[:, None]  # (width, w)
    heat[:width] = np.maximum(heat[:width], down)
    heat[h - width:] = np.maximum(heat[h - width:], down[::-1])
    return heat


def check_seam(img: np.ndarray, repeat: Repeat | str, cfg: dict) -> CheckResult:
    """`img` is HxWx3 uint8 (or float in 0..255 units, the scale of the published thresholds)."""
    repeat = parse_repeat(repeat)
    h, w = img.shape[:2]
    limit, limit_strong = cfg["max_ratio"], cfg["max_ratio_vs_strongest"]
    if repeat is Repeat.MIRROR:
        return CheckResult("seam", "Seam", PASS, 0.0, limit,
                           "Mirror repeats meet themselves at every edge: seamless by construction.",
                           {"ratio": 0.0}, np.zeros((h, w), np.float32))
    stats = _edge_stats(img, repeat)
    eps = 1e-6
    ratio_x = stats["wrap_x"].mean() / max(stats["cols"].mean(), eps)
    ratio_y = stats["wrap_y"].mean() / max(stats["rows"].mean(), eps)
    strong_x = stats["wrap_x"].mean() / max(stats["cols"].max(), eps)
    strong_y = stats["wrap_y"].mean() / max(stats["rows"].max(), eps)
    ratio, strongest = max(ratio_x, ratio_y), max(strong_x, strong_y)
    failed = ratio > limit and strongest > limit_strong
    band = band_energy_ratio(stats)
    reference = max(float(np.percentile(np.concatenate([stats["cols"], stats["rows"]]), 99)), eps)
    width = max(3, min(h, w) // 32)

    def heat() -> np.ndarray:
        return seam_heatmap(stats, h, w, reference, width)

    axis = "left/right" if ratio_x * (strong_x > limit_strong) >= ratio_y * (strong_y > limit_strong) else "top/bottom"
    if failed:
        text = (f"Visible seam at the {axis} edges: the step across the repeat is {ratio:.1f}× a normal step "
                f"in this tile and {strongest:.1f}× its strongest edge.")
    elif ratio > limit:
        text = (f"Seamless: the edge runs along a line that also occurs inside the tile "
                f"({ratio:.1f}× a normal step, but no stronger than its own lines).")
    else:
        text = f"Seamless: the step across the repeat is {ratio:.2f}× a normal step in this tile."
    details = {"ratio_x": ratio_x, "ratio_y": ratio_y, "ratio_vs_strongest": strongest,
               "strong_x": strong_x, "strong_y": strong_y, "centre_band_energy_ratio": band, "repeat": repeat.value}
    return CheckResult("seam", "Seam", FAIL if failed else PASS, float(ratio), limit, text, details, heat)
