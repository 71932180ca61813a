"""Multi-shift perceptual hashes, for near-duplicates that were shifted, flipped, turned, scaled.

A tile and any circular shift of it are the same product, so before its pHash is taken
the tile is moved to a canonical shift: the one that zeroes the phase of its first
horizontal and vertical Fourier components (or, for a tile whose content repeats within it,
the lowest ones with energy). Every shifted copy lands on the same alignment.
A library tile is hashed at that alignment and at two half-step neighbours (for when the
phase is weak); a query is hashed under its 8 flips and quarter turns, each canonicalised.
The best match over all pairs is the distance. Scaling is handled by pHash itself (it works
on a 32x32 copy).
"""

from __future__ import annotations

import numpy as np

SHIFTS = 4
BITS = 64


THUMB = 32  # pHash's working size


def _thumbs(grays: np.ndarray) -> np.ndarray:
    """(n, 32, 32) float32: each grey tile brought down through a Gaussian pyramid (OpenCV, the
    interpreter lock released), each halving low-passed first, so that what compression or scaling
    did to fine detail does not alias into the low frequencies pHash keeps. (OpenCV's mirrored
    borders, although a tile wraps around: measured on the 38 shared seamless tiles, borders that
    wrap missed 19 WebP copies under 0.8 where mirrored ones missed 10.)"""
    import cv2

    out = np.empty((len(grays), THUMB, THUMB), np.float32)
    for i, gray in enumerate(grays):
        g = np.ascontiguousarray(gray, dtype=np.float32)
        while min(g.shape[:2]) >= 2 * THUMB:
            g = cv2.pyrDown(g)
        out[i] = g if g.shape[:2] == (THUMB, THUMB) else cv2.resize(g, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    return out


def _phash_bits(thumbs: np.ndarray) -> list[int]:
    """pHash of each 32x32 thumbnail: the DCT of its rows then columns (pocketfft, over the stack)
    and the 8x8 lowest frequencies against their median, as imagehash.phash does. (imagehash
    resizes with Lanczos, one Pillow call per image: on the 38 shared seamless tiles the pyramid
    misses fewer lossy, scaled and shifted copies, at a fifth of the cost; tested.)"""
    import scipy.fft

    low = scipy.fft.dct(scipy.fft.dct(thumbs.astype(np.float64), axis=1), axis=2)[:, :8, :8].reshape(len(thumbs), BITS)
    bits = low > np.median(low, axis=1, keepdims=True)
    return [int(v) for v in np.packbits(bits, axis=1).view(">u8").ravel()]


def _grays(smalls: np.ndarray) -> np.ndarray:
    """(n, 128, 128) uint8 grey of a stack of small copies, in one OpenCV call."""
    import cv2

    n, height, width = smalls.shape[:3]
    return cv2.cvtColor(smalls.reshape(n * height, width, 3), cv2.COLOR_RGB2GRAY).reshape(n, height, width)


def _gray(rgb: np.ndarray) -> np.ndarray:
    from desktop.library.descriptor import small_copies

    return _grays(small_copies([rgb]))[0]


HARMONICS = 8  # the lowest Fourier components of each axis looked at for the canonical shift
WEAK = 0.05  # a component under this share of the strongest of them is not aligned on


def _coefficients(profiles: np.ndarray) -> np.ndarray:
    """(..., HARMONICS): Fourier components 1..HARMONICS of each profile (sum of x e^(-2 pi i k x / n)),
    by pocketfft, which gives a profile the same values alone or in a stack (a matrix product
    does not: its rounding depends on the stack, and a tie between two shifts then falls either way)."""
    import scipy.fft

    return scipy.fft.rfft(profiles, axis=-1)[..., 1:HARMONICS + 1]


def _shift_of(coefficients: np.ndarray, total: float, n: int) -> int:
    """The circular shift of a 1-D profile of length n (a tile's row or column sums, given by its
    lowest Fourier coefficients and its sum) after which its lowest reliable Fourier component
    has zero phase. That is the first component for most tiles. A tile whose content repeats
    (twice across, three times...) has none there, or next to none, and aligns on the next one,
    k, whose phase is the same after any shift by n/k: of those k shifts the one whose higher
    components come out most in phase is taken, so every shifted copy still lands on the same one.

    Reliable: not far weaker than the strongest of them, whose phase noise would decide (a lossy
    re-save, a resize). Measured on the shared seamless tiles, 0.05 of the strongest halved the
    copies missed under 0.8 (WebP 19 -> 11 of 38, JPEG + shift 18 -> 11, scaled 19 -> 10) with no
    more false matches among different tiles (tests/test_library_hashes.py). Where no reliable
    higher component is left to choose among the k shifts, the lowest component above rounding
    is taken instead."""
    magnitude = np.abs(coefficients)
    rounding = 1e-9 * max(total, 1.0)  # what a component that is zero comes out as
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


def _canonical_shifts(grays: np.ndarray) -> np.ndarray:
    """(n, 2): the canonical (rows, columns) shift of each grey tile of a stack, from its row and
    column sums (1-D FFTs of the sums, for the whole stack at once)."""
    g = grays.astype(np.float64)
    height, width = grays.shape[1:]
    rows, cols = g.sum(axis=2), g.sum(axis=1)
    by_row, by_col = _coefficients(rows), _coefficients(cols)
    totals = rows.sum(axis=1)
    return np.array([(_shift_of(by_row[i], totals[i], height), _shift_of(by_col[i], totals[i], width))
                     for i in range(len(grays))], dtype=np.intp).reshape(len(grays), 2)


def _rolled(grays: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each tile of a stack rolled by its own (rows, columns) shift, as np.roll would (two 1-D
    takes a tile: a fifth of np.roll's cost, and of one gather over the stack, measured)."""
    height, width = grays.shape[1:]
    out = np.empty_like(grays)
    for i, (dy, dx) in enumerate(shifts):
        out[i] = grays[i].take((np.arange(height) - dy) % height, axis=0).take((np.arange(width) - dx) % width, axis=1)
    return out


def canonical(gray: np.ndarray) -> np.ndarray:
    """The circular shift of `gray` whose lowest Fourier components with energy have zero phase."""
    return _rolled(gray[None], _canonical_shifts(gray[None]))[0]


def library_hashes_many(smalls: np.ndarray) -> list[list[int]]:
    """For each small copy of a stack (descriptor.small_copies): the pHashes of the tile at its
    canonical shift and at two half-step neighbours."""
    grays = _grays(smalls)
    canon = _rolled(grays, _canonical_shifts(grays))
    step = grays.shape[1] // (2 * SHIFTS)
    shifted = np.stack([canon, np.roll(canon, (step, step), axis=(1, 2)), np.roll(canon, (-step, -step), axis=(1, 2))],
                       axis=1).reshape(-1, *grays.shape[1:])
    bits = _phash_bits(_thumbs(shifted))
    return [bits[3 * i:3 * i + 3] for i in range(len(smalls))]


def library_hashes(rgb: np.ndarray) -> list[int]:
    """pHashes of the tile at its canonical shift and two half-step neighbours."""
    from desktop.library.descriptor import small_copies

    return library_hashes_many(small_copies([rgb]))[0]


def query_hashes(rgb: np.ndarray) -> list[int]:
    """Canonical pHashes of the tile under its 8 flips and quarter turns."""
    gray = _gray(rgb)
    turned = np.stack([np.rot90(gray[:, ::-1] if flip else gray, k) for flip in (False, True) for k in range(4)])
    return _phash_bits(_thumbs(_rolled(turned, _canonical_shifts(turned))))


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (numpy's own, one instruction a value where the CPU has it)."""
    return np.bitwise_count(np.asarray(x, dtype=np.uint64))


def hash_similarity(query: list[int], stored: list[int]) -> float:
    """1 - (best Hamming distance / 64) over every query-stored pair."""
    q = np.array(query, dtype=np.uint64)[:, None]
    s = np.array(stored, dtype=np.uint64)[None, :]
    best = int(popcount(q ^ s).min())
    return 1.0 - best / BITS
