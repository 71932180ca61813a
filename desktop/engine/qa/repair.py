"""Repairs: mend a seam, flatten uneven lighting, recolour to the palette, reduce to N spot colours
(with separations).

Every operation goes through the repeat geometry, so a repaired half-drop tile is still a
half-drop tile, and works on uint8 RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from desktop.engine.qa.colour import nearest_index, srgb_to_lab
from desktop.errors import UserError
from desktop.palettes import Palette, extract_palette
from desktop.repeat import Repeat, parse_repeat, window


def _seam_mask(h: int, w: int, axis: int, band: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    if axis == 1:
        mask[:, w // 2 - band:w // 2 + band] = 255
    else:
        mask[h // 2 - band:h // 2 + band, :] = 255
    return mask


def _heal_step(tile: np.ndarray, width: int) -> np.ndarray:
    """Remove the colour step across the vertical centre line, keeping all texture.

    The step (a few columns averaged each side, smoothed along the seam) is split in two
    and faded out over `width` pixels on either side: a gradient-domain correction that
    moves only low frequencies, so grain and detail survive.
    """
    img = tile.astype(np.float32)
    h, w = img.shape[:2]
    c = w // 2
    k = 3
    step = img[:, c:c + k].mean(axis=1) - img[:, c - k:c].mean(axis=1)
    step = cv2.GaussianBlur(step[:, None, :], (0, 0), sigmaX=0.1, sigmaY=max(2.0, h / 128))[:, 0, :]
    x = np.arange(w, dtype=np.float32)
    left = np.clip(1.0 - (c - 1 - x) / width, 0, 1) * (x < c)
    right = np.clip(1.0 - (x - c) / width, 0, 1) * (x >= c)
    img += (step[:, None, :] / 2) * (left - right)[None, :, None]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def repair_seam(image: np.ndarray, repeat: Repeat | str, band: int | None = None) -> np.ndarray:
    """Move each seam to the middle of a shifted tile, heal it, inpaint a thin cross, move it back.

    Healing removes the colour step with a wide, texture-preserving correction; a thin
    OpenCV inpaint (Telea) then closes what is left of the cut. The vertical seam (tile to
    its right-hand neighbour) and the horizontal one (tile to the one below) are mended one
    after the other; the shifted windows are themselves valid tiles of the same repeat, so
    the result is too.
    """
    repeat = parse_repeat(repeat)
    if repeat is Repeat.MIRROR:
        return image.copy()  # mirror meets itself at every edge: there is no seam to mend
    h, w = image.shape[:2]
    band = band or 2
    out = np.ascontiguousarray(image)
    for axis, (dx, dy) in ((1, (w // 2, 0)), (0, (0, h // 2))):
        shifted = np.ascontiguousarray(window(out, repeat, dx, dy, w, h))
        if axis == 0:
            shifted = np.ascontiguousarray(shifted.transpose(1, 0, 2))
        healed = _heal_step(shifted, width=max(8, shifted.shape[1] // 6))
        mended = cv2.inpaint(healed, _seam_mask(*healed.shape[:2], 1, band), 3, cv2.INPAINT_TELEA)
        if axis == 0:
            mended = np.ascontiguousarray(mended.transpose(1, 0, 2))
        out = np.ascontiguousarray(window(mended, repeat, -dx, -dy, w, h))
    return out


def flatten_lighting(image: np.ndarray, repeat: Repeat | str = Repeat.BASIC) -> np.ndarray:
    """Even out lighting that changes across the tile (a texture shot under uneven light), so a wall of it
    shows no light and dark bands.

    Only an edge the seam check finds banded is touched. Across it, the texture continues, so the
    pixels either side differ by the light alone: the median ratio of the two columns (rows) that
    meet there, taken through the repeat, is the gain from the tile's start to its end, and a gain
    that ramps by it across the tile is divided out. Texture and colour are kept: only a gain.
    """
    from desktop.engine.qa import load_profile
    from desktop.engine.qa.seam import _gray, banded_edges

    repeat = parse_repeat(repeat)
    if repeat is Repeat.MIRROR:
        return image.copy()  # a mirror meets itself: a ramp is continuous across every edge
    out = image.astype(np.float32)
    h, w = image.shape[:2]
    across, down = banded_edges(image, repeat, load_profile()["seam"])
    for axis, banded in ((1, across), (0, down)):
        if not banded:
            continue
        current = np.clip(out, 0, 255)
        if axis == 1:
            last, after = current[:, -2:], window(current, repeat, w, 0, 2, h)
        else:
            last, after = current[-2:], window(current, repeat, 0, h, w, 2)
        end = np.log1p(_gray(last).mean(axis=axis))
        start = np.log1p(_gray(after).mean(axis=axis))
        rise = float(np.median(end - start))  # log of the gain at the end over the gain at the start
        n = w if axis == 1 else h
        gain = np.exp(rise * (np.arange(n, dtype=np.float32) / max(n - 1, 1) - 0.5))
        out /= gain[None, :, None] if axis == 1 else gain[:, None, None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _bayer(n: int) -> np.ndarray:
    m = np.array([[0]])
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size - 0.5


def _dither_size(h: int, w: int) -> int:
    """The largest Bayer matrix (8, 4 or 2) that divides the tile, so the dither repeats seamlessly."""
    for n in (8, 4, 2):
        if h % n == 0 and w % n == 0:
            return n
    return 0


@dataclass
class Recoloured:
    image: np.ndarray  # HxWx3 uint8, every pixel a palette colour
    palette: Palette
    labels: np.ndarray  # HxW index into palette.colors
    dithered: bool


def recolour(image: np.ndarray, palette: Palette, dither: bool = False, strength: float = 0.5) -> Recoloured:
    """Map each pixel to the nearest palette colour in CIELAB (ΔE76: exact nearest, fast).

    With `dither`, an ordered (Bayer) threshold is added in Lab before the mapping; its
    matrix divides the tile so the dither pattern itself stays seamless.
    """
    h, w = image.shape[:2]
    lab = srgb_to_lab(image).reshape(-1, 3)
    pal_lab = srgb_to_lab(palette.array()).reshape(-1, 3)
    dithered = False
    if dither and len(pal_lab) > 1:
        n = _dither_size(h, w)
        if n:
            spacing = np.median(np.linalg.norm(pal_lab[:, None] - pal_lab[None], axis=-1)[np.triu_indices(len(pal_lab), 1)])
            noise = np.tile(_bayer(n), (h // n, w // n)).reshape(-1, 1) * strength * spacing
            lab = lab + noise * np.array([1.0, 0.5, 0.5], np.float32)
            dithered = True
    labels = nearest_index(lab, pal_lab)
    colours = np.asarray(palette.colors, np.uint8)
    return Recoloured(colours[labels].reshape(h, w, 3), palette, labels.reshape(h, w), dithered)


def reduce_colours(image: np.ndarray, n: int, dither: bool = False) -> Recoloured:
    """Reduce to the image's own `n` main colours (k-means in CIELAB), as screen printing needs."""
    if not 1 <= n <= 64:
        raise UserError(f"spot colours must be between 1 and 64, not {n}")
    palette = extract_palette(image, k=n, sample=60_000)
    return recolour(image, Palette(palette.colors, name=f"{n} spot colours", weights=palette.weights), dither)


def separations(result: Recoloured) -> list[tuple[str, np.ndarray]]:
    """One mask per colour (255 where that ink prints), named by its hex."""
    out = []
    for i, colour in enumerate(result.palette.hex):
        mask = np.where(result.labels == i, 255, 0).astype(np.uint8)
        out.append((f"sep-{i + 1:02d}-{colour.lstrip('#')}", mask))
    return out
