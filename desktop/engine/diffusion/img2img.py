"""Variations and seamless upscaling: image-to-image with the repeat padding on.

A variation ("style-infilling") re-renders a library tile at a strength: low keeps the layout,
high keeps little but the palette and mood. An upscale first resizes the tile *through its
repeat* (the tile is padded with its neighbours, resized, and cropped, so the wrap stays
exact at the new size), then refines it with image-to-image at a low strength, which adds
detail at the new resolution while the padding keeps it seamless. The resize alone needs no
model, so procedural tiles can be upscaled too.
"""

from __future__ import annotations

from dataclasses import replace
from math import ceil, gcd
from typing import Any

import numpy as np

from desktop.engine.diffusion.pipeline import DiffusionRequest, generate
from desktop.errors import UserError
from desktop.repeat import check_size, pad, parse_repeat

MAX_UPSCALED_SIDE = 8192


def _pad_for(side: int, new_side: int, at_least: int = 8) -> int:
    """A padding p such that p * new_side / side is a whole number of pixels, and p >= at_least."""
    step = side // gcd(side, new_side)
    return step * ceil(at_least / step)


def wrap_resize(image: np.ndarray, repeat: str, width: int, height: int) -> np.ndarray:
    """Resize a tile to width x height so that it still repeats exactly (Lanczos, through the repeat)."""
    repeat = parse_repeat(repeat)
    h, w = image.shape[:2]
    check_size(repeat, w, h)
    check_size(repeat, width, height)
    if (width, height) == (w, h):
        return image.copy()
    import cv2  # only when there is resizing to do

    px, py = _pad_for(w, width), _pad_for(h, height)
    if px >= 4 * w or py >= 4 * h:  # an awkward ratio: fall back to a 3x3 neighbourhood
        px, py = w, h
    padded = pad(image, (px, px, py, py), repeat)
    sx, sy = width / w, height / h
    out_w, out_h = round((w + 2 * px) * sx), round((h + 2 * py) * sy)
    shrinking = sx < 1 or sy < 1
    resized = cv2.resize(padded, (out_w, out_h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4)
    x0, y0 = round(px * sx), round(py * sy)
    return np.ascontiguousarray(resized[y0:y0 + height, x0:x0 + width])


def upscaled_size(width: int, height: int, factor: float, multiple: int = 8) -> tuple[int, int]:
    if not 1.0 <= factor <= 8.0:
        raise UserError(f"the upscale factor must be between 1 and 8, not {factor}")
    new_w = max(multiple, round(width * factor / multiple) * multiple)
    new_h = max(multiple, round(height * factor / multiple) * multiple)
    if max(new_w, new_h) > MAX_UPSCALED_SIDE:
        raise UserError(f"{new_w}x{new_h} is over the {MAX_UPSCALED_SIDE} px limit per side")
    return new_w, new_h


def vary(pipe, image: np.ndarray, request: DiffusionRequest, strength: float = 0.5, ctx=None) -> list[dict[str, Any]]:
    """`request.count` variations of `image` (HxWx3 uint8), one seed each."""
    h, w = image.shape[:2]
    return generate(pipe, replace(request, width=w, height=h), ctx, init_image=image, strength=strength)


def upscale(pipe, image: np.ndarray, request: DiffusionRequest, factor: float = 2.0, strength: float = 0.3,
            ctx=None) -> list[dict[str, Any]]:
    """Resize through the repeat to `factor` x, then refine with img2img (skipped when pipe is None)."""
    h, w = image.shape[:2]
    new_w, new_h = upscaled_size(w, h, factor)
    resized = wrap_resize(image[..., :3], request.repeat, new_w, new_h)
    if pipe is None or strength <= 0:
        return [{"image": resized, "seed": request.seed, "ms": 0.0, "device": "cpu", "warnings": []}]
    return generate(pipe, replace(request, width=new_w, height=new_h, count=1), ctx, init_image=resized,
                    strength=strength)
