"""Repeat padding for every convolution of a model: the tile's neighbours come from the repeat.

Seamless diffusion works by making every Conv2d see the plane instead of zeros: before each
convolution its input is padded through the repeat geometry (desktop.repeat.pad), and the
convolution itself runs unpadded. Circular padding is the basic case; half-drop takes the
wrapped columns from half a tile lower, half-brick the wrapped rows from half a tile along,
mirror reflects. Because it patches modules in place, apply it after LoRAs attach (their
convolutions get it too), and `restore` puts every convolution back as it was.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from desktop.repeat import Repeat, check_size, parse_repeat, window_index

_MARK = "_tessera_repeat"


def _indices(repeat: Repeat, w: int, h: int, pads: tuple[int, int, int, int], device, cache: dict):
    key = (repeat, w, h, pads, str(device))
    if key not in cache:
        import torch

        left, right, top, bottom = pads
        rows, cols = window_index(repeat, w, h, -left, -top, w + left + right, h + top + bottom)
        cache[key] = (torch.from_numpy(rows.copy()).to(device), torch.from_numpy(cols.copy()).to(device))
    return cache[key]


def _repeat_forward(conv, repeat: Repeat, cache: dict):
    import torch.nn.functional as F

    ph, pw = conv._tessera_padding

    def forward(x):
        h, w = x.shape[-2:]
        kind = repeat
        # an offset repeat needs an even side at this resolution; below that, fall back to basic
        if (kind is Repeat.HALF_DROP and h % 2) or (kind is Repeat.HALF_BRICK and w % 2):
            kind = Repeat.BASIC
        rows, cols = _indices(kind, w, h, (pw, pw, ph, ph), x.device, cache)
        padded = x[..., rows, cols]
        return F.conv2d(padded, conv.weight, conv.bias, conv.stride, 0, conv.dilation, conv.groups)

    return forward


def apply_repeat_padding(model: Any, repeat: Repeat | str) -> int:
    """Patch every padded Conv2d in `model` (a torch module) to pad through `repeat`.

    Returns how many convolutions were patched. Calling it again changes the repeat.
    """
    import torch.nn as nn

    repeat = parse_repeat(repeat)
    cache: dict = {}
    patched = 0
    for module in model.modules():
        if not isinstance(module, nn.Conv2d):
            continue
        if getattr(module, _MARK, None) is None:
            if module.padding_mode != "zeros" or isinstance(module.padding, str):
                continue
            ph, pw = module.padding
            if ph == 0 and pw == 0:
                continue
            module._tessera_padding = (ph, pw)
            module.padding = (0, 0)
        setattr(module, _MARK, repeat)
        module.forward = _repeat_forward(module, repeat, cache)
        patched += 1
    return patched


def restore_padding(model: Any) -> int:
    """Undo apply_repeat_padding: every convolution pads with zeros again."""
    restored = 0
    for module in model.modules():
        if getattr(module, _MARK, None) is not None:
            module.padding = module._tessera_padding
            del module.forward  # back to the class's forward
            delattr(module, _MARK)
            del module._tessera_padding
            restored += 1
    return restored


@contextmanager
def repeat_padding(models: list[Any], repeat: Repeat | str, latent_size: tuple[int, int] | None = None):
    """Repeat padding on these models for the duration of a `with` block."""
    if latent_size is not None:
        check_size(repeat, *latent_size)
    try:
        for model in models:
            apply_repeat_padding(model, repeat)
        yield
    finally:
        for model in models:
            restore_padding(model)
