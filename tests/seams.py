"""A seam measure for tests: the step across each wrapped edge against the interior steps."""

from __future__ import annotations

import numpy as np

from desktop.repeat import pad


def seam_ratios(tile: np.ndarray, repeat: str) -> tuple[float, float]:
    """(across the right edge, across the bottom edge), each divided by the largest interior step.

    Interior steps are mean absolute differences between adjacent columns (rows). A tile
    that continues across its edges has ratios <= 1: the wrap is just another interior step.
    """
    img = tile.astype(np.float64)
    h, w = img.shape[:2]
    p = pad(img, 1, repeat)
    wrap_x = np.abs(p[1:-1, w + 1] - p[1:-1, w]).mean()
    wrap_y = np.abs(p[h + 1, 1:-1] - p[h, 1:-1]).mean()
    inner_x = np.abs(np.diff(img, axis=1)).mean(axis=(0, 2)).max()
    inner_y = np.abs(np.diff(img, axis=0)).mean(axis=(1, 2)).max()
    eps = 1e-9
    return (wrap_x + eps) / (inner_x + eps), (wrap_y + eps) / (inner_y + eps)
