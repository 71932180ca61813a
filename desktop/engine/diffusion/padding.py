"""Repeat padding for every convolution of a model: the tile's neighbours come from the repeat.

Seamless diffusion works by making every Conv2d see the plane instead of zeros: before each
convolution its input is padded through the repeat geometry (desktop.repeat.pad), and the
convolution itself runs unpadded. Circular padding is the basic case; half-drop takes the
wrapped columns from half a tile lower, half-brick the wrapped rows from half a tile along,
mirror reflects. ``axes="x"`` or ``"y"`` wraps one axis only (a border or a ribbon that repeats
along its length) and pads the other with zeros, as the convolution would have. Because it
patches modules in place, apply it after LoRAs attach (their convolutions get it too), and
`restore` puts every convolution back as it was.

The border is built in one of two ways, which tests hold equal to the geometry's index maps:

- a **gather** through a flat index (one kernel), on CUDA and for channels-last tensors. An
  eager step on a fast GPU is expected to wait on the host launching its operations (about
  1,600 for the SD 1.5 UNet, as benchmarks/diffusion.py counts them); bordered with slices
  that step has 64 % more, with the gather 10 % more.
- **slices** of one bordered copy, on the CPU (the gather measured 6× slower there on NCHW
  tensors) and inside torch.compile (which fuses the slices into one kernel, where the index
  table would break the graph).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from desktop.errors import UserError
from desktop.repeat import Repeat, check_size, parse_repeat, window_index

_MARK = "_tessera_repeat"
_DOWNSAMPLE_MARK = -1  # a Downsample2D whose right/bottom pad Tessera does


AXES = ("xy", "x", "y")


def check_axes(repeat: Repeat | str, axes: str) -> None:
    if axes not in AXES:
        raise UserError(f"tiling axes must be one of {', '.join(AXES)}, not '{axes}'")
    if axes != "xy" and parse_repeat(repeat) is not Repeat.BASIC:
        raise UserError(f"wrapping only along {axes} works with the basic repeat, not {parse_repeat(repeat).value}")


# index tables by (repeat, w, h, pads[, axes], device), kept for good: a captured CUDA graph reads them
_FLAT: dict = {}  # the flat gather index of a border on both axes
_MAPS: dict = {}  # (rows, cols) maps, for borders wider than the tile and one-axis wrapping
_UNCOMPILED: dict = {}


def _uncompiled(fn):
    """`fn` run outside torch.compile's graph: the numpy geometry, once per shape."""
    found = _UNCOMPILED.get(fn)
    if found is None:
        import torch

        found = _UNCOMPILED[fn] = torch.compiler.disable(fn)
    return found


def _indices(repeat: Repeat, w: int, h: int, pads: tuple[int, int, int, int], axes: str, device):
    found = _MAPS.get((repeat, w, h, pads, axes, str(device)))
    return found if found is not None else _uncompiled(_index_maps)(repeat, w, h, pads, axes, device)


def _index_maps(repeat: Repeat, w: int, h: int, pads: tuple[int, int, int, int], axes: str, device):
    key = (repeat, w, h, pads, axes, str(device))
    if key not in _MAPS:
        import numpy as np
        import torch

        left, right, top, bottom = pads
        if axes == "xy":
            rows, cols = window_index(repeat, w, h, -left, -top, w + left + right, h + top + bottom)
        elif axes == "x":  # basic along x only: the rows stay as they are
            rows = np.arange(h)[:, None]
            cols = (np.arange(-left, w + right) % w)[None, :]
        else:
            rows = (np.arange(-top, h + bottom) % h)[:, None]
            cols = np.arange(w)[None, :]
        _MAPS[key] = (torch.from_numpy(np.array(rows)).to(device),  # copies: the cached maps are read-only
                      torch.from_numpy(np.array(cols)).to(device))
    return _MAPS[key]


def flat_index(repeat: Repeat, w: int, h: int, pads: tuple[int, int, int, int], device):
    """The border as one flat index into an h x w tile: element j of the bordered tile is tile.flat[index[j]]."""
    found = _FLAT.get((repeat, w, h, pads, str(device)))
    return found if found is not None else _uncompiled(_flat_index)(repeat, w, h, pads, device)


def _flat_index(repeat: Repeat, w: int, h: int, pads: tuple[int, int, int, int], device):
    key = (repeat, w, h, pads, str(device))
    if key not in _FLAT:
        import numpy as np
        import torch

        left, right, top, bottom = pads
        rows, cols = window_index(repeat, w, h, -left, -top, w + left + right, h + top + bottom)
        _FLAT[key] = torch.from_numpy((np.asarray(rows, dtype=np.int64) * w + cols).ravel()).to(device)
    return _FLAT[key]


def is_channels_last(x) -> bool:
    import torch

    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


def use_gather(x) -> bool:
    """Whether this tensor's border is gathered (CUDA, channels-last) or sliced (the CPU)."""
    return x.is_cuda or is_channels_last(x)


def pad_gather(x, repeat: Repeat, pads: tuple[int, int, int, int]):
    """The repeat's border on both axes through one gather (keeps a channels-last tensor channels-last)."""
    left, right, top, bottom = pads
    h, w = x.shape[-2:]
    size = (h + top + bottom, w + left + right)
    index = flat_index(repeat, w, h, pads, x.device)
    if is_channels_last(x):  # gather whole pixels (rows of C values) in N, H*W, C
        pixels = x.permute(0, 2, 3, 1).reshape(x.shape[0], h * w, x.shape[1])
        return pixels.index_select(1, index).unflatten(1, size).permute(0, 3, 1, 2)
    return x.reshape(*x.shape[:-2], h * w).index_select(-1, index).unflatten(-1, size)


def pad_fast(x, repeat: Repeat, pads: tuple[int, int, int, int], axes: str = "xy"):
    """The same border as indexing through repeat.window_index, built with one copy of the tile.

    The tile is copied once into a larger tensor; the side columns come from the neighbours
    across x (rolled by half a tile for half-drop, flipped for mirror), then the top and bottom
    rows are copied from the widened tensor itself (rolled for half-brick), corners included.
    Tests hold it equal to the geometry's own index maps for every repeat and border.
    """
    import torch

    left, right, top, bottom = pads
    h, w = x.shape[-2:]
    layout = torch.channels_last if is_channels_last(x) else torch.contiguous_format
    out = torch.empty((*x.shape[:-2], h + top + bottom, w + left + right), dtype=x.dtype, device=x.device,
                      memory_format=layout)
    out[..., top:top + h, left:left + w] = x
    if repeat is Repeat.HALF_BRICK and axes == "xy":
        # the row below sits half a tile to the right: rows first (rolled within the tile's
        # width), then the side columns wrap plainly over the full height, corners included
        cols = slice(left, left + w)
        if top:
            out[..., :top, cols] = torch.roll(x[..., h - top:, :], -(w // 2), -1)
        if bottom:
            out[..., top + h:, cols] = torch.roll(x[..., :bottom, :], w // 2, -1)
        if left:
            out[..., :, :left] = out[..., :, w:w + left]
        if right:
            out[..., :, left + w:] = out[..., :, left:left + right]
        return out
    rows = slice(top, top + h)
    # the side columns (rolled within the tile's height for half-drop, flipped for mirror)
    if axes == "y":
        if left:
            out[..., rows, :left].zero_()
        if right:
            out[..., rows, left + w:].zero_()
    elif repeat is Repeat.MIRROR:
        if left:
            out[..., rows, :left] = x[..., :, :left].flip(-1)
        if right:
            out[..., rows, left + w:] = x[..., :, w - right:].flip(-1)
    else:
        shift = h // 2 if repeat is Repeat.HALF_DROP else 0  # the column to the right sits half a tile lower
        if left:
            side = x[..., :, w - left:]
            out[..., rows, :left] = torch.roll(side, -shift, -2) if shift else side
        if right:
            side = x[..., :, :right]
            out[..., rows, left + w:] = torch.roll(side, shift, -2) if shift else side
    # then the top and bottom rows, from the widened rows themselves
    if axes == "x":
        if top:
            out[..., :top, :].zero_()
        if bottom:
            out[..., top + h:, :].zero_()
    elif repeat is Repeat.MIRROR:
        if top:
            out[..., :top, :] = out[..., top:2 * top, :].flip(-2)
        if bottom:
            out[..., top + h:, :] = out[..., top + h - bottom:top + h, :].flip(-2)
    else:
        if top:
            out[..., :top, :] = out[..., h:h + top, :]
        if bottom:
            out[..., top + h:, :] = out[..., top:top + bottom, :]
    return out


def _repeat_forward(conv, repeat: Repeat, axes: str):
    import torch
    import torch.nn.functional as F

    left, right, top, bottom = conv._tessera_pads

    def forward(x):
        h, w = x.shape[-2:]
        kind = repeat
        # an offset repeat needs an even side at this resolution; below that, fall back to basic
        if (kind is Repeat.HALF_DROP and h % 2) or (kind is Repeat.HALF_BRICK and w % 2):
            kind = Repeat.BASIC
        if max(left, right) <= w and max(top, bottom) <= h:
            if axes == "xy" and use_gather(x) and not torch.compiler.is_compiling():
                padded = pad_gather(x, kind, (left, right, top, bottom))
            else:
                padded = pad_fast(x, kind, (left, right, top, bottom), axes)
        else:  # a border wider than the tile: the geometry's index maps
            rows, cols = _indices(kind, w, h, (left, right, top, bottom), axes, x.device)
            padded = x[..., rows, cols]
            if axes == "x":
                padded = F.pad(padded, (0, 0, top, bottom))
            elif axes == "y":
                padded = F.pad(padded, (left, right, 0, 0))
        return F.conv2d(padded, conv.weight, conv.bias, conv.stride, 0, conv.dilation, conv.groups)

    return forward


def apply_repeat_padding(model: Any, repeat: Repeat | str, axes: str = "xy") -> int:
    """Patch every padded Conv2d in `model` (a torch module) to pad through `repeat`.

    Returns how many convolutions were patched. Calling it again changes the repeat.
    """
    import torch.nn as nn

    repeat = parse_repeat(repeat)
    check_axes(repeat, axes)
    patched = 0
    for module in model.modules():
        # diffusers' Downsample2D with padding=0 (the VAE encoder's) zero-pads right and bottom by
        # one pixel itself, then runs an unpadded stride-2 convolution: that pad goes through the
        # repeat too, or the encoder would leak a seam into image-to-image.
        conv = getattr(module, "conv", None)
        if (type(module).__name__ == "Downsample2D" and getattr(module, "use_conv", False)
                and module.padding == 0 and isinstance(conv, nn.Conv2d) and getattr(conv, _MARK, None) is None):
            module.padding = _DOWNSAMPLE_MARK  # not 0: its forward no longer pads
            conv._tessera_padding = conv.padding
            conv._tessera_pads = (0, 1, 0, 1)
            conv._tessera_owner = module
    for module in model.modules():
        if not isinstance(module, nn.Conv2d):
            continue
        if getattr(module, _MARK, None) is None and not hasattr(module, "_tessera_pads"):
            if module.padding_mode != "zeros" or isinstance(module.padding, str):
                continue
            ph, pw = module.padding
            if ph == 0 and pw == 0:
                continue
            module._tessera_padding = (ph, pw)
            module._tessera_pads = (pw, pw, ph, ph)
            module.padding = (0, 0)
        setattr(module, _MARK, repeat)
        module.forward = _repeat_forward(module, repeat, axes)
        patched += 1
    model._tessera_padding_state = (repeat, axes)
    return patched


def padding_state(model: Any) -> tuple | None:
    """(repeat, axes) while `model` pads through a repeat, else None."""
    return getattr(model, "_tessera_padding_state", None)


def restore_padding(model: Any) -> int:
    """Undo apply_repeat_padding: every convolution pads with zeros again."""
    restored = 0
    for module in model.modules():
        if getattr(module, _MARK, None) is not None:
            module.padding = module._tessera_padding
            del module.forward  # back to the class's forward
            delattr(module, _MARK)
            del module._tessera_padding, module._tessera_pads
            owner = getattr(module, "_tessera_owner", None)
            if owner is not None:
                owner.padding = 0
                del module._tessera_owner
            restored += 1
    if "_tessera_padding_state" in getattr(model, "__dict__", {}):
        del model._tessera_padding_state
    return restored


@contextmanager
def repeat_padding(models: list[Any], repeat: Repeat | str, latent_size: tuple[int, int] | None = None,
                   axes: str = "xy"):
    """Repeat padding on these models for the duration of a `with` block."""
    if latent_size is not None:
        check_size(repeat, *latent_size)
    check_axes(repeat, axes)
    try:
        for model in models:
            apply_repeat_padding(model, repeat, axes)
        yield
    finally:
        for model in models:
            restore_padding(model)
