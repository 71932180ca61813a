"""Seamless tiled VAE decoding for large tiles.

diffusers' own VAE tiling cuts the latent into rectangles and blends them, which is fine for
a picture but wrong for a repeat: the rectangles at the tile's edges never meet across the
wrap, and a repeat-padded decoder would wrap each rectangle onto itself. Here the latent
plane is decoded in overlapping windows laid on the *repeat* instead: each window is read
through the repeat geometry (so windows at the edges take their context from the
neighbouring tiles), decoded with ordinary zero padding, and added into the tile through the
same geometry with a weight that ramps across the overlaps. The seam is then blended exactly
like any boundary between two windows inside the tile, and peak memory is one window's.
"""

from __future__ import annotations

from typing import Any

from desktop.repeat import Repeat, parse_repeat, window, window_index

TILE = 96  # latent pixels per window side (768 px)
OVERLAP = 24  # latent pixels shared by neighbouring windows


def needs_tiling(width: int, height: int, limit: int = 1536 * 1536) -> bool:
    """Large images decode in windows (the VAE decoder's activations grow with the area)."""
    return width * height > limit


def _ramp(n: int, overlap: int, device, dtype):
    import torch

    pos = torch.arange(n, device=device, dtype=torch.float32)
    edge = torch.minimum(pos + 0.5, n - pos - 0.5)
    return (edge / max(1, overlap)).clamp(max=1.0).to(dtype)


def tiled_decode(vae: Any, latents: Any, repeat: Repeat | str = "basic", tile: int = TILE,
                 overlap: int = OVERLAP) -> Any:
    """Decode (B, C, h, w) latents (already divided by the scaling factor) to (B, 3, H, W), seamlessly."""
    import torch

    from desktop.engine.diffusion.padding import repeat_padding, restore_padding

    repeat = parse_repeat(repeat)
    b, _, h, w = latents.shape
    if h <= tile and w <= tile:  # one window: the whole tile, wrapped by the padding
        with torch.no_grad(), repeat_padding([vae], repeat):
            return vae.decode(latents).sample.float()
    if not 0 <= overlap < tile:
        raise ValueError("the overlap must be smaller than the window")
    restore_padding(vae)  # windows carry their own context; the decoder must not wrap them
    stride = tile - overlap
    windows = [(x, y) for y in range(0, h, stride) for x in range(0, w, stride)]
    out = weight = None
    scale = 0
    for x0, y0 in windows:
        part = window(latents, repeat, x0, y0, tile, tile)
        with torch.no_grad():
            decoded = vae.decode(part).sample.float()
        if out is None:
            scale = decoded.shape[-1] // tile
            out = torch.zeros(b, decoded.shape[1], h * scale, w * scale, device=decoded.device)
            weight = torch.zeros(h * scale, w * scale, device=decoded.device)
            ramp = _ramp(tile * scale, overlap * scale, decoded.device, torch.float32)
            ramp2d = ramp[:, None] * ramp[None, :]
        rows, cols = window_index(repeat, w * scale, h * scale, x0 * scale, y0 * scale, tile * scale, tile * scale)
        rows = torch.from_numpy(rows.copy()).to(decoded.device).expand(tile * scale, tile * scale)
        cols = torch.from_numpy(cols.copy()).to(decoded.device).expand(tile * scale, tile * scale)
        flat = (rows * (w * scale) + cols).reshape(-1)
        weight.view(-1).index_add_(0, flat, ramp2d.reshape(-1))
        contribution = (decoded * ramp2d).reshape(b, decoded.shape[1], -1)
        out.view(b, decoded.shape[1], -1).index_add_(2, flat, contribution)
    return out / weight.clamp(min=1e-6)

