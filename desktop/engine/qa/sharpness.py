"""Sharpness and artefacts: blur and upscaling, flat images, JPEG blocks.

Blur is judged relative to the content: the finest band of a Laplacian pyramid (detail at
1-2 px) against the next band (2-4 px). Natural detail has about as much energy in both; a
blurred or upscaled image has lost the finest band. On the real textures in shared/data
the originals score 0.78 and up (5th percentile), the same images blurred (sigma 2) or
upscaled 4x score 0.56 and below (95th percentile).
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop.engine.qa.overlay import scaled
from desktop.engine.qa.report import FAIL, PASS, CheckResult
from desktop.engine.qa.seam import step_means


def detail_score(gray: np.ndarray, unit: float = 1.0) -> float:
    """RMS of the finest pyramid band ÷ RMS of the next band (about 1 for crisp detail). `unit`: the grey
    scale's white (1 for 0..1, 255 for 0..255 values): the ratio is the same, its guard scaled."""
    h, w = gray.shape
    if min(h, w) < 16:
        return 1.0
    half = cv2.pyrDown(gray)
    quarter = cv2.pyrDown(half)
    # the RMS of a band is the L2 distance between two pyramid levels over the root of the pixel count
    fine = cv2.norm(gray, cv2.pyrUp(half, dstsize=(w, h)), cv2.NORM_L2) / np.sqrt(gray.size)
    next_band = cv2.norm(half, cv2.pyrUp(quarter, dstsize=(half.shape[1], half.shape[0])),
                         cv2.NORM_L2) / np.sqrt(half.size)
    return float(fine / (next_band + 1e-4 * unit))


def blockiness(gray: np.ndarray, block: int = 8) -> float:
    """Median step on 8-px block boundaries ÷ median step elsewhere (1 = no JPEG blocking)."""
    out = 1.0
    for axis in (1, 0):
        steps = step_means(gray, axis)
        if len(steps) < 4 * block:
            continue
        idx = np.arange(len(steps))
        on = np.median(steps[idx % block == block - 1])
        off = np.median(steps[idx % block != block - 1])
        out = max(out, float((on + 1e-4) / (off + 1e-4)))
    return out


def soft_areas(gray: np.ndarray) -> np.ndarray:
    """Bright where the image is soft: local Laplacian energy against the tile's 99th percentile.

    The map is smooth, so it is made at quarter size (and scaled to the image when shown).
    """
    quarter = cv2.pyrDown(cv2.pyrDown(gray)) if min(gray.shape) >= 64 else gray
    local = cv2.GaussianBlur(np.abs(cv2.Laplacian(quarter, cv2.CV_32F)), (0, 0), 1)
    top = float(np.percentile(local[::2, ::2], 99)) or 1.0
    return np.clip(1.0 - local / top, 0, 1).astype(np.float32)


def check_sharpness(gray: np.ndarray, cfg: dict, judge_blocks: bool = True) -> CheckResult:
    """`gray` is HxW at full resolution: uint8, or float32 in 0..1.

    Blocking is judged only for JPEG sources: drawn designs often put edges on an 8-px grid.
    """
    gray = np.ascontiguousarray(gray)
    scale = 255.0 if gray.dtype == np.uint8 else 1.0
    spread = float(cv2.meanStdDev(gray)[1][0, 0]) / scale
    # a ratio of steps (the same in 8-bit units), measured only where it is judged (a JPEG source)
    blocks = blockiness(gray) if judge_blocks else None
    gray = gray.astype(np.float32)  # in its own units: the detail is a ratio (one pass, not two)
    detail = detail_score(gray, scale)
    problems = []
    if spread < cfg["min_std"]:
        problems.append(f"nearly flat (tone spread {spread:.3f})")
    elif detail < cfg["min_detail"]:
        problems.append(f"soft or blurred (detail {detail:.2f}, want {cfg['min_detail']})")
    if blocks is not None and blocks > cfg["max_blockiness"]:
        problems.append(f"JPEG blocking ({blocks:.2f}× steps on the 8-px grid)")
    text = "Crisp." if not problems else "Looks " + " and ".join(problems) + "."
    if not problems and detail < cfg["min_detail"] * 1.5:
        text = f"Acceptably sharp (detail {detail:.2f})."

    def overlay() -> np.ndarray:
        return scaled(soft_areas(gray), gray.shape)()

    return CheckResult("sharpness", "Sharpness", FAIL if problems else PASS, detail, cfg["min_detail"], text,
                       {"detail": detail, "tone_spread": spread, "blockiness": blocks}, overlay)
