"""Overlays as people see them: a heat map (0..1) in the inferno colours, with alpha."""

from __future__ import annotations

import cv2
import numpy as np


def scaled(heat: np.ndarray, shape: tuple[int, int]):
    """A function that gives `heat` (a small map) at the image's (h, w), for CheckResult.overlay_source."""
    h, w = shape

    def make() -> np.ndarray:
        if heat.shape == (h, w):
            return heat
        return cv2.resize(heat.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)

    return make


def heat_rgba(heat: np.ndarray, strength: float = 0.85) -> np.ndarray:
    """HxW heat in 0..1 to HxWx4 uint8: inferno colours, transparent where there is no heat."""
    h = np.clip(np.nan_to_num(heat), 0, 1)
    colour = cv2.applyColorMap((h * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    alpha = (np.sqrt(h) * strength * 255).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([colour, alpha]))


def overlay_on(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The heat over a dimmed copy of the tile, as one RGB image (what `tessera qa --overlay-dir` writes)."""
    rgba = heat_rgba(heat).astype(np.float32) / 255.0
    alpha = rgba[..., 3:4]
    dimmed = image.astype(np.float32) / 255.0 * 0.45
    return ((dimmed * (1 - alpha) + rgba[..., :3] * alpha) * 255 + 0.5).astype(np.uint8)
