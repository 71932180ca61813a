"""Whether two tiles are one design: how well their layouts line up at the best shift, flip and turn.

The descriptor and the pHash find candidates fast, but they summarise a tile: two different grey
stochastic textures (grass and gravel), or two seeds of one noise style, have the same spectrum
and colours, and two regular grids can share a pHash. This is the check that decides.

A tile's *layout* is its lightness on the 128x128 copy, blurred through the wrap (σ = 2 px, so a
shift by a fraction of a pixel, or a lossy re-save, hardly moves it), then every second pixel of
that (the blur leaves nothing a 64x64 grid would fold over), zero-mean and unit-norm. Tiles are
periodic, so a shifted copy is the same product: the match of two layouts is the largest
circular cross-correlation over every shift (one FFT product) and the eight flips and quarter
turns, taken as an absolute value, so a negative (light and dark swapped) matches too. A recolour
that keeps light and dark in order keeps the layout, and scaled copies come to the same 64x64
copy. The blur leaves the layout band-limited, so the correlation is first read on the 64x64 grid
and, for the pairs that come near the bar, read again between the grid points (the product's
spectrum zero-padded to 128x128) for the peak a fractional shift puts there.

Measured on the 79 shared images and eight copies of each (`benchmarks/duplicates.py`; see
BENCHMARKS.md): copies match at 0.9 or more; the other pairs that the descriptor or the pHash put
forward, at 0.7 or less.
"""

from __future__ import annotations

import numpy as np

SIDE = 64
FINE = 128
SIGMA = 2.0  # on the 128x128 copy, before every second pixel is kept
# two tiles are one design from here: the duplicate finder and the QA near-duplicate check both
# start from it (the measures above; two seeds of a noise style match at 0.2 to 0.6, of one with
# only a 2x2 lattice of values up to 1.0: those are one design)
SAME_DESIGN = 0.85
COARSE_SLACK = 0.1  # the grid's reading can fall short of the peak between its points by this much
_FLAT = 1e-3  # a layout whose lightness varies less than this (L in 0..100, per pixel) is plain


def layout(rgb: np.ndarray) -> np.ndarray | None:
    """(64, 64) float32, zero-mean and unit-norm, or None for a plain tile (one flat colour)."""
    import cv2

    from desktop.library.descriptor import lab_of, small_copy

    lightness = lab_of(small_copy(rgb)[None])[0][..., 0]
    pad = int(4 * SIGMA) + 2  # even: the pixels kept are the copy's even ones
    blurred = cv2.GaussianBlur(np.pad(lightness, pad, mode="wrap"), (0, 0), SIGMA)[pad:-pad:2, pad:-pad:2]
    blurred -= blurred.mean()
    norm = float(np.linalg.norm(blurred))
    if norm < _FLAT * SIDE:
        return None
    return (blurred / norm).astype(np.float32)


def spectrum(layout_: np.ndarray | None) -> np.ndarray | None:
    """(64, 33) complex64: the layout's spectrum as it is (what a tile keeps to be compared)."""
    if layout_ is None:
        return None
    import scipy.fft

    return scipy.fft.rfft2(layout_).astype(np.complex64)


def turns(layout_: np.ndarray | None) -> np.ndarray | None:
    """(8, 64, 33) complex64: the layout's spectrum in each of its eight flips and quarter turns."""
    if layout_ is None:
        return None
    import scipy.fft

    variants = np.stack([np.rot90(layout_, k)[:, ::flip] for k in range(4) for flip in (1, -1)])
    return scipy.fft.rfft2(variants).astype(np.complex64)


def match(turned: np.ndarray | None, other: np.ndarray | None, at_least: float = 0.0) -> float:
    """How well two layouts line up, 0..1, at the best shift, flip and turn: one tile's `turns`
    against the other's `spectrum`. A pair whose grid reading stays below `at_least` by more than
    the grid can miss is answered from the grid alone. Two plain tiles match (1.0); a plain tile
    and a patterned one do not (0.0)."""
    if turned is None or other is None:
        return 1.0 if turned is None and other is None else 0.0
    import scipy.fft

    product = turned * np.conj(other)[None]
    coarse = float(np.abs(scipy.fft.irfft2(product, s=(SIDE, SIDE))).max())
    if coarse < at_least - COARSE_SLACK:
        return min(1.0, coarse)
    padded = np.zeros((len(product), FINE, FINE // 2 + 1), np.complex64)
    half = SIDE // 2
    padded[:, :half, :half + 1] = product[:, :half]
    padded[:, FINE - half:, :half + 1] = product[:, half:]
    scale = (FINE / SIDE) ** 2  # irfft2 divides by the larger grid's size
    return float(min(1.0, max(coarse, np.abs(scipy.fft.irfft2(padded, s=(FINE, FINE))).max() * scale)))


def match_images(a_rgb: np.ndarray, b_rgb: np.ndarray) -> float:
    return match(turns(layout(a_rgb)), spectrum(layout(b_rgb)))


class BatchSimilarity:
    """The QA near-duplicate hook for a batch: the library's answer (`inner`, when a library is
    connected) and the batch's own earlier tiles, so "Count 4" of one design is caught even with no
    library. The generator calls `remember` with each tile it keeps."""

    def __init__(self, inner=None):
        self.inner, self.kept = inner, []

    def remember(self, image: np.ndarray) -> None:
        self.kept.append(spectrum(layout(image)))

    def nearest(self, image: np.ndarray, k: int = 5):
        from desktop.engine.qa import SimilarItem

        items = list(self.inner.nearest(image, k)) if self.inner is not None else []
        query = turns(layout(image))
        items += [SimilarItem(f"batch-{n + 1}", round(match(query, kept, SAME_DESIGN), 4),
                              f"tile {n + 1} of this batch", "batch") for n, kept in enumerate(self.kept)]
        return sorted(items, key=lambda item: -item.score)[:k]


def generate_checking_the_batch(request, ctx=None):
    """run_generate with QA's near-duplicate check over the batch's own tiles: what the window's render
    process runs for a diffusion batch (named as a target, as worker_process calls functions)."""
    from desktop.engine.generate import run_generate

    return run_generate(request, ctx, BatchSimilarity())
