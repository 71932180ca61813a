"""Multi-shift perceptual hashes, for near-duplicates that were shifted, flipped, turned, scaled.

A tile and any circular shift of it are the same product, so before hashing (its
pHash) the tile is moved to a canonical shift: the one that zeroes the phase of its first
horizontal and vertical Fourier components (or, for a tile whose content repeats within it,
the lowest ones with energy). Every shifted copy lands on the same alignment.
A library tile is hashed at that alignment and at two half-step neighbours (for when the
phase is weak); a query is hashed under its 8 flips and quarter turns, each canonicalised.
The best match over all pairs is the distance. Scaling is handled by pHash itself (it works
on a 32x32 copy).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SHIFTS = 4
BITS = 64


THUMB = 32  # pHash's working size


def _thumb(gray: np.ndarray) -> np.ndarray:
    """A grey image brought down to 32x32 through a Gaussian pyramid (OpenCV, float, the
    interpreter lock released): each halving low-passed first, so what compression or scaling did
    to the fine detail does not alias into the low frequencies pHash keeps."""
    import cv2

    g = np.ascontiguousarray(gray, dtype=np.float32)
    while min(g.shape[:2]) >= 2 * THUMB:
        g = cv2.pyrDown(g)
    if g.shape[:2] != (THUMB, THUMB):
        g = cv2.resize(g, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    return g


def _phashes(grays: list[np.ndarray]) -> list[int]:
    """The pHash of each grey image, made together: the 32x32 thumbnail (`_thumb`), the DCT of its
    rows then columns (pocketfft, over the stack), and the 8x8 lowest frequencies against their
    median. imagehash.phash resizes with Lanczos instead, one Pillow call per image: measured on
    the 38 shared seamless tiles, the pyramid misses fewer lossy, scaled and shifted copies
    (tests/test_library_hashes.py) at a fifth of the cost."""
    import scipy.fft

    thumbs = np.stack([_thumb(g) for g in grays]).astype(np.float64)
    low = scipy.fft.dct(scipy.fft.dct(thumbs, axis=1), axis=2)[:, :8, :8].reshape(len(grays), BITS)
    bits = low > np.median(low, axis=1, keepdims=True)
    return [int(v) for v in np.packbits(bits, axis=1).view(">u8").ravel()]


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    from desktop.library.descriptor import small_copy

    return cv2.cvtColor(np.ascontiguousarray(small_copy(rgb)), cv2.COLOR_RGB2GRAY)


HARMONICS = 8  # the lowest Fourier components of each axis looked at for the canonical shift
WEAK = 0.05  # a component under this share of the strongest of them is not aligned on


@lru_cache(maxsize=8)
def _harmonics(n: int) -> np.ndarray:
    """(n, HARMONICS): e^(-2 pi i k x / n) for k = 1..HARMONICS."""
    return np.exp(-2j * np.pi * np.outer(np.arange(n), np.arange(1, HARMONICS + 1)) / n)


def _canonical_shift(profile: np.ndarray) -> int:
    """The circular shift of a 1-D profile (a tile's row or column sums) after which its lowest
    reliable Fourier component has zero phase. That is the first component for most tiles. A
    tile whose content repeats (twice across, three times...) has none there, or next to none,
    and aligns on the next one, k, whose phase is the same after any shift by n/k: of those k
    shifts the one whose higher components come out most in phase is taken, so every shifted
    copy still lands on the same one.

    Reliable: not far weaker than the strongest of them, whose phase noise would decide (a lossy
    re-save, a resize). Measured on the shared seamless tiles, 0.05 of the strongest halved the
    copies missed under 0.8 (WebP 19 -> 11 of 38, JPEG + shift 18 -> 11, scaled 19 -> 10) with no
    more false matches among different tiles (tests/test_library_hashes.py). Where no reliable higher component is left to
    choose among the k shifts, the lowest component above rounding is taken instead."""
    n = len(profile)
    coefficients = profile @ _harmonics(n)
    magnitude = np.abs(coefficients)
    rounding = 1e-9 * max(float(profile.sum()), 1.0)  # what a component that is zero comes out as
    above_rounding = np.flatnonzero(magnitude > rounding)
    if not len(above_rounding):
        return 0
    reliable = np.flatnonzero(magnitude > max(rounding, WEAK * float(magnitude.max())))
    k = int(reliable[0]) + 1
    if k > 1 and len(reliable) == 1:  # nothing reliable to choose among its k shifts
        k = int(above_rounding[0]) + 1
    base = np.angle(coefficients[k - 1]) / (2 * np.pi) * n / k
    candidates = [round(base + j * n / k) % n for j in range(k)]
    if k == 1:
        return candidates[0]
    higher = np.arange(k + 1, HARMONICS + 1)

    def in_phase(shift: int) -> float:  # the higher components' real parts after rolling by shift
        return float(np.real(coefficients[higher - 1] * np.exp(-2j * np.pi * higher * shift / n)).sum())

    return max(candidates, key=in_phase)


def canonical(gray: np.ndarray) -> np.ndarray:
    """The circular shift of `gray` whose lowest Fourier components with energy have zero phase,
    found from its row and column sums (a few dot products, not a whole FFT)."""
    g = gray.astype(np.float64)
    return np.roll(gray, (_canonical_shift(g.sum(axis=1)), _canonical_shift(g.sum(axis=0))), axis=(0, 1))


def library_hashes(rgb: np.ndarray) -> list[int]:
    """pHashes of the tile at its canonical shift and two half-step neighbours."""
    gray = canonical(_gray(rgb))
    step = gray.shape[0] // (2 * SHIFTS)
    return _phashes([np.roll(gray, (dy, dx), axis=(0, 1)) for dy, dx in ((0, 0), (step, step), (-step, -step))])


def query_hashes(rgb: np.ndarray) -> list[int]:
    """Canonical pHashes of the tile under its 8 flips and quarter turns."""
    gray = _gray(rgb)
    return _phashes([canonical(np.rot90(gray[:, ::-1] if flip else gray, k)) for flip in (False, True) for k in range(4)])


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
