"""Multi-shift perceptual hashes, for near-duplicates that were shifted, flipped, turned, scaled.

A tile and any circular shift of it are the same product, so before hashing (imagehash's
pHash) the tile is moved to a canonical shift: the one that zeroes the phase of its first
horizontal and vertical Fourier components. Every shifted copy lands on the same alignment.
A library tile is hashed at that alignment and at two half-step neighbours (for when the
phase is weak); a query is hashed under its 8 flips and quarter turns, each canonicalised.
The best match over all pairs is the distance. Scaling is handled by pHash itself (it works
on a 32x32 copy).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SHIFTS = 4
BITS = 64


def _phash(gray: np.ndarray) -> int:
    import imagehash

    bits = imagehash.phash(Image.fromarray(gray)).hash.ravel()
    return int(np.packbits(bits.astype(np.uint8)).view(">u8")[0])


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    from desktop.library.descriptor import small_copy

    return cv2.cvtColor(np.ascontiguousarray(small_copy(rgb)), cv2.COLOR_RGB2GRAY)


def canonical(gray: np.ndarray) -> np.ndarray:
    """The circular shift of `gray` whose first Fourier components have zero phase."""
    n_y, n_x = gray.shape
    spectrum = np.fft.fft2(gray.astype(np.float64))
    sx = round(np.angle(spectrum[0, 1]) / (2 * np.pi) * n_x)
    sy = round(np.angle(spectrum[1, 0]) / (2 * np.pi) * n_y)
    return np.roll(gray, (sy, sx), axis=(0, 1))


def library_hashes(rgb: np.ndarray) -> list[int]:
    """pHashes of the tile at its canonical shift and two half-step neighbours."""
    gray = canonical(_gray(rgb))
    step = gray.shape[0] // (2 * SHIFTS)
    return [_phash(np.roll(gray, (dy, dx), axis=(0, 1))) for dy, dx in ((0, 0), (step, step), (-step, -step))]


def query_hashes(rgb: np.ndarray) -> list[int]:
    """Canonical pHashes of the tile under its 8 flips and quarter turns."""
    gray = _gray(rgb)
    out = []
    for flip in (False, True):
        g = gray[:, ::-1] if flip else gray
        for k in range(4):
            out.append(_phash(np.ascontiguousarray(canonical(np.rot90(g, k)))))
    return out


def popcount(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    count = np.zeros(x.shape, np.uint64)
    for shift in range(0, 64, 8):
        count += np.array(_BYTE_COUNTS)[((x >> np.uint64(shift)) & np.uint64(255)).astype(np.int64)].astype(np.uint64)
    return count


_BYTE_COUNTS = [bin(i).count("1") for i in range(256)]


def hash_similarity(query: list[int], stored: list[int]) -> float:
    """1 - (best Hamming distance / 64) over every query-stored pair."""
    q = np.array(query, dtype=np.uint64)[:, None]
    s = np.array(stored, dtype=np.uint64)[None, :]
    best = int(popcount(q ^ s).min())
    return 1.0 - best / BITS
