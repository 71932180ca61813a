"""Repeat visibility: will the grid show when the tile repeats?

Two things make a repeat "tell":

- variation at the scale of the tile itself (a bright corner, a band one tile wide, big
  clouds). The lightness of one period of the plane (through the repeat geometry, so
  half-drop and mirror count their true period) is reduced to its lowest harmonics, one
  cycle per tile or fewer; the range of that component, in CIELAB L units, is the score;
- a lone blob: one spot whose local lightness stands far out from the rest of the tile
  (robust z-score of a motif-scale blur), which the eye finds again in every repeat.

The overlay shows both.
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop.engine.qa.overlay import scaled
from desktop.engine.qa.report import FAIL, PASS, CheckResult
from desktop.repeat import Repeat, pad, to_basic


def tile_scale_component(lightness: np.ndarray, repeat: Repeat) -> np.ndarray:
    """The part of the tile's lightness that varies once per tile (or slower), tile-sized.

    The period's Fourier coefficients at those few low frequencies (|kx| <= pw/w, |ky| <= ph/h,
    the mean left out) are taken directly, as two small complex matrix products, and summed
    back over the tile: the same as masking a full FFT, for a fraction of its cost.
    """
    h, w = lightness.shape
    period = to_basic(lightness, repeat).astype(np.float64)
    ph, pw = period.shape
    kx = np.arange(-(pw // w), pw // w + 1)
    ky = np.arange(-(ph // h), ph // h + 1)
    ax = 2 * np.pi * np.outer(kx, np.arange(pw)) / pw  # (nkx, pw)
    ay = 2 * np.pi * np.outer(ky, np.arange(ph)) / ph  # (nky, ph)
    # coefficients (e^-i ay) P (e^-i ax)^T, with real products: one pass over the period
    across = (period - period.mean()) @ np.concatenate([np.cos(ax), np.sin(ax)]).T  # (ph, 2 nkx)
    pc, ps = across[:, :len(kx)], across[:, len(kx):]
    cy, sy = np.cos(ay), np.sin(ay)
    coeffs = (cy @ pc - sy @ ps) - 1j * (sy @ pc + cy @ ps)  # (nky, nkx)
    coeffs[len(ky) // 2, len(kx) // 2] = 0.0
    # back over the tile: Re[(e^i by) C (e^i bx)^T]
    by = 2 * np.pi * np.outer(np.arange(h), ky) / ph  # (h, nky)
    bx = 2 * np.pi * np.outer(kx, np.arange(w)) / pw  # (nkx, w)
    rows = np.cos(by) @ coeffs + 1j * (np.sin(by) @ coeffs)  # (h, nkx)
    low = rows.real @ np.cos(bx) - rows.imag @ np.sin(bx)
    return (low / (ph * pw)).astype(np.float32)


def lone_blob(lightness: np.ndarray, repeat: Repeat) -> tuple[np.ndarray, float, float]:
    """Deviation map of a motif-scale blur, its peak (L units) and the peak's robust z-score.

    The blur is a twentieth of the tile wide, so it is taken on a half-size copy (a quarter of
    the pixels, half the kernel) and the map scaled back.
    """
    h, w = lightness.shape
    half = lightness
    if min(h, w) >= 64 and h % 4 == 0 and w % 4 == 0:  # so half-drop and half-brick offsets stay whole
        half = cv2.resize(lightness, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    hh, hw = half.shape
    sigma = max(hh, hw) / 20.0
    margin = int(3 * sigma) + 1
    low = cv2.GaussianBlur(pad(half, margin, repeat), (0, 0), sigma)[margin:margin + hh, margin:margin + hw]
    deviation = np.abs(low - np.median(low))
    spread = 1.4826 * float(np.median(deviation))
    peak = float(deviation.max())
    if (hh, hw) != (h, w):
        deviation = cv2.resize(deviation, (w, h), interpolation=cv2.INTER_LINEAR)
    return deviation, peak, peak / (spread + 1.0)


def check_visibility(lightness: np.ndarray, repeat: Repeat, full_shape: tuple[int, int], cfg: dict) -> CheckResult:
    """`lightness` is a small HxW CIELAB L map (0..100)."""
    low = tile_scale_component(lightness, repeat)
    lo, hi = np.percentile(low[::2, ::2], [1, 99])  # a field of a few low harmonics: every other pixel will do
    tell = float(hi - lo)
    blob_map, blob_peak, blob_z = lone_blob(lightness, repeat)
    has_blob = blob_peak > cfg["blob_min_l"] and blob_z > cfg["blob_z"]
    deviation = np.abs(low) + (blob_map if has_blob else 0.0)
    overlay = scaled(np.clip(deviation / max(cfg["max_tell"] / 2, 1e-6), 0, 1).astype(np.float32), full_shape)
    y, x = np.unravel_index(int(np.argmax(deviation)), deviation.shape)
    h, w = lightness.shape
    where = (("top" if y < h / 3 else "bottom" if y > 2 * h / 3 else "middle") + "-"
             + ("left" if x < w / 3 else "right" if x > 2 * w / 3 else "centre"))
    failed = tell > cfg["max_tell"] or has_blob
    if has_blob:
        text = (f"The repeat will show: a lone spot near the {where} stands {blob_peak:.0f} L out from the rest "
                f"and will be seen again in every repeat.")
    elif failed:
        text = (f"The repeat will show: lightness swings {tell:.0f} L once per tile, strongest near the {where}. "
                f"Spread the contrast more evenly.")
    else:
        text = f"Reads as an all-over pattern (tile-scale lightness swing {tell:.1f} L)."
    return CheckResult("visibility", "Repeat visibility", FAIL if failed else PASS, tell, cfg["max_tell"], text,
                       {"hotspot": where, "lone_blob_l": blob_peak, "lone_blob_z": blob_z}, overlay)
