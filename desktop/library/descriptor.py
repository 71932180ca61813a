"""The built-in visual descriptor: needs no weights, and does not change when a tile is shifted.

Tiles are periodic, so a circularly shifted copy is the same product. Everything here is
invariant to circular shifts, and the texture part also to flips and quarter turns:

- colour: a soft histogram of CIELAB (L, a, b) over the whole tile (48 values, from a 32x32 copy);
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
    """The tile area-averaged to 128x128 RGB uint8: the descriptor, the hashes and the colour names
    all start from it, so the full image is read once however many of them are made. A square
    tile of 256, 512, 1024... pixels is halved (OpenCV's exact 2x2 averaging: two halvings of a
    512-px tile cost half of one 4x4 resize, measured), which is the same average; any other size
    is resized in one step (halving first, then a fractional resize, averages differently, and a
    scaled copy of a tile would then not match it as well: measured on the shared tiles)."""
    rgb = np.asarray(rgb)[..., :3]
    while rgb.shape[0] == rgb.shape[1] and rgb.shape[0] % (2 * PREVIEW) == 0:
        rgb = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if rgb.shape[:2] != (PREVIEW, PREVIEW):
        rgb = cv2.resize(rgb, (PREVIEW, PREVIEW), interpolation=cv2.INTER_AREA)
    if rgb.dtype != np.uint8:  # float 0..1
        rgb = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(rgb)


def small_copies(rgbs) -> np.ndarray:
    """(n, 128, 128, 3) uint8: the small copy of each image (those already small are kept)."""
    return np.stack([small_copy(rgb) for rgb in rgbs])


def shrink(smalls: np.ndarray, side: int) -> np.ndarray:
    """(n, side, side, c) from (n, 128, 128, c): area-averaged, all in one OpenCV call (the stack is
    one tall image; 128 is a multiple of side, so no output pixel mixes two tiles)."""
    n, height, width = smalls.shape[:3]
    tall = smalls.reshape(n * height, width, *smalls.shape[3:])
    return cv2.resize(tall, (side, n * side), interpolation=cv2.INTER_AREA).reshape(n, side, side, *smalls.shape[3:])


COLOUR_SIDE = 32  # the colour histogram's copy (1,024 pixels a tile; the colour names use it too)


def lab_of(rgbs: np.ndarray) -> np.ndarray:
    """(n, h, w, 3) float32 CIELAB of a stack of uint8 sRGB images, in one OpenCV call."""
    n, h, w = rgbs.shape[:3]
    lab = cv2.cvtColor(rgbs.reshape(n * h, w, 3).astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2LAB)
    return lab.reshape(n, h, w, 3)


def _colour_parts(lab: np.ndarray) -> np.ndarray:
    """(n, 48): per tile, a soft 16-bin histogram of each of L, a and b (each value split between its
    two nearest bins), as square roots (Hellinger: L2 then compares distributions)."""
    n = len(lab)
    offsets = (np.arange(n) * 16)[:, None, None]
    parts = []
    for channel, lo, hi in ((0, 0.0, 100.0), (1, -80.0, 80.0), (2, -80.0, 80.0)):
        values = np.clip((lab[..., channel] - lo) / (hi - lo), 0, 1) * 15
        base = values.astype(np.intp)  # floor: the values are not negative
        frac = values - base
        hist = np.bincount((base + offsets).ravel(), weights=(1 - frac).ravel(), minlength=16 * n)
        hist += np.bincount((np.minimum(base + 1, 15) + offsets).ravel(), weights=frac.ravel(), minlength=16 * n)
        hist = hist.reshape(n, 16)
        parts.append(hist / hist.sum(axis=1, keepdims=True))
    return np.sqrt(np.concatenate(parts, axis=1))


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


def _texture_parts(lightness: np.ndarray) -> np.ndarray:
    """(n, 64): per tile, the FFT magnitude of its lightness pooled into the cells, for contrast."""
    import scipy.fft

    n = len(lightness)
    spectrum = np.abs(scipy.fft.fft2(lightness - lightness.mean(axis=(1, 2), keepdims=True)))
    cells, valid = _texture_bins()
    magnitudes = spectrum[:, valid]
    energy = np.bincount((cells[None, :] + (np.arange(n) * 64)[:, None]).ravel(), weights=magnitudes.ravel(),
                         minlength=64 * n).reshape(n, 64)
    energy = np.log1p(energy / np.maximum(magnitudes.sum(axis=1, keepdims=True), 1e-9) * 100)
    return energy / np.maximum(np.linalg.norm(energy, axis=1, keepdims=True), 1e-9)


def describe_many(smalls: np.ndarray, colour_weight: float = 0.6, quarters: np.ndarray | None = None) -> np.ndarray:
    """(n, 112) float32: the descriptors of a stack of small copies (`small_copies`), made together
    (one call per step for the whole stack instead of one per tile). `quarters`: the stack
    shrunk to COLOUR_SIDE, when the caller has it already."""
    quarters = shrink(smalls, COLOUR_SIDE) if quarters is None else quarters
    colour = _colour_parts(lab_of(quarters))
    colour /= np.maximum(np.linalg.norm(colour, axis=1, keepdims=True), 1e-9)
    texture = _texture_parts(lab_of(shrink(smalls, SIDE))[..., 0])
    vectors = np.concatenate([colour * colour_weight, texture * (1 - colour_weight)], axis=1).astype(np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def describe(rgb: np.ndarray, colour_weight: float = 0.6) -> np.ndarray:
    """The descriptor of an HxWx3 tile (uint8 or float 0..1)."""
    return describe_many(small_copies([rgb]), colour_weight)[0]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two descriptors (both unit length)."""
    return float(np.dot(a, b))
