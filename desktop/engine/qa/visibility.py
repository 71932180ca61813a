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

from desktop.engine.qa.report import FAIL, PASS, CheckResult
from desktop.repeat import Repeat, pad, to_basic


def tile_scale_component(lightness: np.ndarray, repeat: Repeat) -> np.ndarray:
    """The part of the tile's lightness that varies once per tile (or slower), tile-sized."""
    h, w = lightness.shape
    period = to_basic(lightness, repeat).astype(np.float64)
    ph, pw = period.shape
    spectrum = np.fft.fft2(period - period.mean())
    kx = np.abs(np.fft.fftfreq(pw) * pw)[None, :]
    ky = np.abs(np.fft.fftfreq(ph) * ph)[:, None]
    keep = (kx <= pw / w + 1e-9) & (ky <= ph / h + 1e-9)
    keep[0, 0] = False
    return np.real(np.fft.ifft2(spectrum * keep))[:h, :w].astype(np.float32)


def lone_blob(lightness: np.ndarray, repeat: Repeat) -> tuple[np.ndarray, float, float]:
    """Deviation map of a motif-scale blur, its peak (L units) and the peak's robust z-score."""
    h, w = lightness.shape
    sigma = max(h, w) / 20.0
    margin = int(3 * sigma) + 1
    low = cv2.GaussianBlur(pad(lightness, margin, repeat), (0, 0), sigma)[margin:margin + h, margin:margin + w]
    deviation = np.abs(low - np.median(low))
    spread = 1.4826 * float(np.median(deviation))
    peak = float(deviation.max())
    return deviation, peak, peak / (spread + 1.0)


def check_visibility(lightness: np.ndarray, repeat: Repeat, full_shape: tuple[int, int], cfg: dict) -> CheckResult:
    """`lightness` is a small HxW CIELAB L map (0..100)."""
    low = tile_scale_component(lightness, repeat)
    lo, hi = np.percentile(low, [1, 99])
    tell = float(hi - lo)
    blob_map, blob_peak, blob_z = lone_blob(lightness, repeat)
    has_blob = blob_peak > cfg["blob_min_l"] and blob_z > cfg["blob_z"]
    deviation = np.abs(low) + (blob_map if has_blob else 0.0)
    overlay = np.clip(deviation / max(cfg["max_tell"] / 2, 1e-6), 0, 1).astype(np.float32)
    overlay = cv2.resize(overlay, (full_shape[1], full_shape[0]), interpolation=cv2.INTER_LINEAR)
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
