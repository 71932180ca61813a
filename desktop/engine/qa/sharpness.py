"""Sharpness and artefacts: blur (against a re-blurred copy of itself), flat images, JPEG blocks.

Blur is judged relative to the content: the image is blurred once more and the loss of
gradient energy is measured. A crisp image loses much of it; an image that is already soft
loses little (the re-blur metric of Crété-Roffet et al., 2007).
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop.engine.qa.report import FAIL, PASS, CheckResult


def _gradient_energy(gray: np.ndarray) -> float:
    gx = np.diff(gray, axis=1)
    gy = np.diff(gray, axis=0)
    return float((gx * gx).mean() + (gy * gy).mean())


def detail_score(gray: np.ndarray) -> float:
    """Share of gradient energy a further 1-px blur removes: ~0.5+ crisp, under ~0.15 soft."""
    energy = _gradient_energy(gray)
    if energy <= 1e-12:
        return 0.0
    blurred = cv2.GaussianBlur(gray, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    return float(1.0 - _gradient_energy(blurred) / energy)


def blockiness(gray: np.ndarray, block: int = 8) -> float:
    """Median step on 8-px block boundaries ÷ median step elsewhere (1 = no JPEG blocking)."""
    out = 1.0
    for axis in (1, 0):
        steps = np.abs(np.diff(gray, axis=axis)).mean(axis=1 - axis)
        if len(steps) < 4 * block:
            continue
        idx = np.arange(len(steps))
        on = np.median(steps[idx % block == block - 1])
        off = np.median(steps[idx % block != block - 1])
        out = max(out, float((on + 1e-4) / (off + 1e-4)))
    return out


def check_sharpness(gray: np.ndarray, cfg: dict, judge_blocks: bool = True) -> CheckResult:
    """`gray` is HxW float32 in 0..1 at full resolution.

    Blocking is judged only for JPEG sources: drawn designs often put edges on an 8-px grid.
    """
    detail = detail_score(gray)
    spread = float(gray.std())
    blocks = blockiness(gray)
    problems = []
    if spread < cfg["min_std"]:
        problems.append(f"nearly flat (tone spread {spread:.3f})")
    elif detail < cfg["min_detail"]:
        problems.append(f"soft or blurred (detail {detail:.2f}, want {cfg['min_detail']})")
    if judge_blocks and blocks > cfg["max_blockiness"]:
        problems.append(f"JPEG blocking ({blocks:.2f}× steps on the 8-px grid)")
    local = cv2.GaussianBlur(np.abs(cv2.Laplacian(gray, cv2.CV_32F)), (0, 0), 4)
    top = float(np.percentile(local, 99)) or 1.0
    overlay = np.clip(1.0 - local / top, 0, 1).astype(np.float32)  # bright where soft
    text = "Crisp." if not problems else "Looks " + " and ".join(problems) + "."
    if not problems and detail < cfg["min_detail"] * 1.5:
        text = f"Acceptably sharp (detail {detail:.2f})."
    return CheckResult("sharpness", "Sharpness", FAIL if problems else PASS, detail, cfg["min_detail"], text,
                       {"detail": detail, "tone_spread": spread, "blockiness": blocks}, overlay)
