"""The built-in visual descriptor: needs no weights, and does not change when a tile is shifted.

Tiles are periodic, so a circularly shifted copy is the same product. Everything here is
invariant to circular shifts, and the texture part also to flips and quarter turns:

- colour: a soft histogram of CIELAB (L, a, b) over the whole tile (48 values);
- texture: the FFT magnitude of the lightness (a circular shift only changes phase),
  folded so that |fx| and |fy| and their order do not matter (flips, 90° turns), pooled
  into log-spaced radial bands by angle bands and normalised for contrast (64 values).

The two parts are weighted, concatenated and L2-normalised: 112 float32 values.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

# The version of the whole look an index row holds (descriptor and hashes): rows made by another
# are remade by the next reconcile. v2: tiles whose content repeats within them are hashed at a
# canonical shift (v1 left them where they were, so their shifted copies hashed apart). v3: pHash
# on a Gaussian-pyramid thumbnail instead of a Lanczos one, and colour names counted per pixel.
MODEL = "tessera-descriptor-v3"
DIM = 112
SIDE = 64


PREVIEW = 128  # the shared small copy (see `small_copy`)


def small_copy(rgb: np.ndarray) -> np.ndarray:
    """The tile area-averaged to 128x128: the descriptor, the hashes and the colour names all start
    from it, so the full image is read once however many of them are made."""
    rgb = np.asarray(rgb)[..., :3]
    if rgb.shape[:2] == (PREVIEW, PREVIEW):
        return rgb
    return cv2.resize(rgb, (PREVIEW, PREVIEW), interpolation=cv2.INTER_AREA)


def _lab_small(rgb: np.ndarray) -> np.ndarray:
    small = cv2.resize(small_copy(rgb), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32) / 255.0 if small.dtype == np.uint8 else small.astype(np.float32)
    return cv2.cvtColor(small, cv2.COLOR_RGB2LAB)


def _colour_part(lab: np.ndarray) -> np.ndarray:
    parts = []
    for channel, lo, hi in ((0, 0.0, 100.0), (1, -80.0, 80.0), (2, -80.0, 80.0)):
        values = np.clip((lab[..., channel] - lo) / (hi - lo), 0, 1) * 15
        base = np.floor(values).astype(int)
        frac = values - base
        hist = np.bincount(base.ravel(), weights=(1 - frac).ravel(), minlength=17)[:16]
        hist += np.bincount(np.minimum(base + 1, 15).ravel(), weights=frac.ravel(), minlength=16)[:16]
        parts.append(hist / hist.sum())
    return np.sqrt(np.concatenate(parts))  # Hellinger: square roots make L2 compare distributions


@lru_cache(maxsize=1)
def _texture_bins() -> tuple[np.ndarray, np.ndarray]:
    """Which of the 64 (radius band, angle band) cells each non-zero frequency of a SIDE x SIDE
    spectrum falls in, and where those frequencies are: the same for every tile."""
    f = np.fft.fftfreq(SIDE)
    fx, fy = np.abs(f)[None, :], np.abs(f)[:, None]
    hi, lo = np.maximum(fx, fy), np.minimum(fx, fy)  # folded: flips and quarter turns look alike
    radius = np.hypot(fx, fy)
    angle = np.arctan2(lo, np.maximum(hi, 1e-9)) / (np.pi / 4)  # 0..1 over 0..45 degrees
    valid = radius > 0
    r_edges = np.geomspace(1.0 / SIDE, 0.71, 17)
    r_bin = np.clip(np.searchsorted(r_edges, radius) - 1, 0, 15)
    a_bin = np.clip((angle * 4).astype(int), 0, 3)
    return (r_bin * 4 + a_bin)[valid], valid


def _texture_part(lightness: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.fft.fft2(lightness - lightness.mean()))
    cells, valid = _texture_bins()
    energy = np.bincount(cells, weights=spectrum[valid], minlength=64)
    energy = np.log1p(energy / max(spectrum[valid].sum(), 1e-9) * 100)
    return energy / max(np.linalg.norm(energy), 1e-9)


def describe(rgb: np.ndarray, colour_weight: float = 0.6) -> np.ndarray:
    """The descriptor of an HxWx3 tile (uint8 or float 0..1)."""
    lab = _lab_small(np.asarray(rgb)[..., :3])
    colour = _colour_part(lab)
    colour /= max(np.linalg.norm(colour), 1e-9)
    texture = _texture_part(lab[..., 0])
    vector = np.concatenate([colour * colour_weight, texture * (1 - colour_weight)]).astype(np.float32)
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two descriptors (both unit length)."""
    return float(np.dot(a, b))
