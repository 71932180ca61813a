"""Automatic QA: every tile gets a report a designer can trust and see.

`run_qa` runs every enabled check of a profile and returns a QAReport: per check a score,
its threshold, pass or fail, one sentence, and an overlay aligned to the image (seam
heatmap, off-palette map, luminance, soft areas, tile-scale tell), made from the check's
own small map when someone asks for it. Print readiness and near-duplicates are not spatial
and carry no overlay. Every check reads the 8-bit image; a full report of a 1024² tile
costs less than decoding its PNG (benchmarks/qa.py).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import cv2
import numpy as np

from desktop.engine.qa.colour import check_contrast, check_palette, major_colours, srgb_to_lab
from desktop.engine.qa.printing import check_print
from desktop.engine.qa.report import FAIL, PASS, SKIP, CheckResult, QAReport, load_profile, profile_names
from desktop.engine.qa.seam import check_seam, edge_stats, judged_size
from desktop.engine.qa.sharpness import check_sharpness
from desktop.engine.qa.similar import SimilarItem, SimilarityProvider, check_duplicates
from desktop.engine.qa.visibility import check_visibility
from desktop.palettes import Palette
from desktop.repeat import Repeat, parse_repeat

__all__ = ["FAIL", "PASS", "SKIP", "CheckResult", "QAReport", "SimilarItem", "SimilarityProvider",
           "load_profile", "profile_names", "run_qa"]

ANALYSIS_SIDE = 256  # colour and tile-scale checks look at a small copy; seams and sharpness at full size
# a longer image (a 600 DPI scan is 12,000 px) is judged on an area-reduced copy this long: QA's
# memory is then bounded by the decode alone; the print check still reads the image's real size
QA_SIDE = 4096


def judged_copy(rgb: np.ndarray, repeat: Repeat | str = "basic") -> np.ndarray:
    """`rgb`, or, where it is longer than QA_SIDE, an area-reduced copy that long, its side kept even
    where the repeat moves by half of it (so the half offset stays a whole pixel)."""
    h, w = rgb.shape[:2]
    if max(h, w) <= QA_SIDE:
        return rgb
    repeat = parse_repeat(repeat)
    scale = QA_SIDE / max(h, w)
    nw, nh = max(2, round(w * scale)), max(2, round(h * scale))
    nw -= nw % 2 if repeat is Repeat.HALF_BRICK else 0
    nh -= nh % 2 if repeat is Repeat.HALF_DROP else 0
    return cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)


def _at_shape(check: CheckResult, shape: tuple[int, int]) -> CheckResult:
    """The check with its overlay made at `shape` (the image's), where it was made at another."""
    source = check.overlay_source
    if source is None:
        return check

    def make() -> np.ndarray:
        heat = source() if callable(source) else source
        return heat if heat.shape[:2] == shape else cv2.resize(heat.astype(np.float32), (shape[1], shape[0]),
                                                                 interpolation=cv2.INTER_LINEAR)

    return dataclasses.replace(check, overlay_source=make)


def _small(rgb: np.ndarray) -> np.ndarray:
    """The analysis copy: area-averaged to ANALYSIS_SIDE on its longer side.

    Exact halvings go first (OpenCV's 2x area path is several times faster than one 4x step).
    """
    while max(rgb.shape[:2]) >= 2 * ANALYSIS_SIDE and rgb.shape[0] % 2 == 0 and rgb.shape[1] % 2 == 0:
        rgb = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    h, w = rgb.shape[:2]
    scale = ANALYSIS_SIDE / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _as_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    return (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def run_qa(image: np.ndarray, repeat: str = "basic", palette: Palette | None = None,
           profile: str | dict[str, Any] = "default", overrides: dict[str, Any] | None = None,
           image_info: dict[str, Any] | None = None, provider: SimilarityProvider | None = None,
           source: str | None = None, full_edges: dict[str, np.ndarray] | None = None) -> QAReport:
    """QA one tile. `image` is HxWx3 (uint8, or float in 0..1).

    Seams and sharpness look at every pixel; colour and tile-scale checks at a 256-px copy.
    Overlays are made from each check's own analysis copy and scaled to the image when
    someone asks for them (`CheckResult.overlay`). An image longer than QA_SIDE is judged on a
    reduced copy, but its seams' step rule reads the pixels either side of each wrap at full
    resolution (`seam.edge_stats`, bounded memory); a caller that has already reduced a scan passes
    those figures of the full image as `full_edges`.
    """
    start = time.perf_counter()
    cfg = load_profile(profile, overrides) if isinstance(profile, str) else profile
    repeat = parse_repeat(repeat)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError("QA needs an HxWx3 RGB image")
    shown = arr.shape[:2]  # the overlays are made at the size of the image given
    info = image_info or {}
    # the image's own size: given by a caller that passed a reduced copy (`judged_copy`), else its shape
    w, h = (int(side) for side in info["size"]) if info.get("size") else (shown[1], shown[0])
    full8 = _as_uint8(arr)
    rgb8 = judged_copy(full8, repeat)
    if full_edges is None and rgb8 is not full8 and cfg["seam"].get("enabled", True):
        full_edges = edge_stats(full8, repeat)
    del full8

    # the seam is judged on exact halvings of a large tile; the analysis copy goes on halving from there
    # (_small of a judged_size copy is _small of the tile: the same halvings, made once)
    half = judged_size(rgb8)
    small = _small(half)
    checks: list[CheckResult] = []
    if cfg["seam"].get("enabled", True):
        checks.append(check_seam(rgb8, repeat, cfg["seam"], full_edges, judged=half))
    major = None
    if cfg["palette"].get("enabled", True) or cfg["contrast"].get("enabled", True):
        major = major_colours(small, cfg["palette"].get("colours", 8))
    if cfg["palette"].get("enabled", True):
        checks.append(check_palette(small, shown, palette, cfg["palette"], major))
    if cfg["contrast"].get("enabled", True):
        checks.append(check_contrast(small, shown, cfg["contrast"], major))
    if cfg["sharpness"].get("enabled", True):
        gray = cv2.cvtColor(rgb8, cv2.COLOR_RGB2GRAY)
        checks.append(check_sharpness(gray, cfg["sharpness"], judge_blocks=info.get("format") == "JPEG"))
    if cfg["print"].get("enabled", True):
        checks.append(check_print(w, h, cfg["print"], info.get("mode", "RGB"), info.get("bits", 8),
                                  info.get("has_alpha", False)))
    if cfg["visibility"].get("enabled", True):
        lightness = np.ascontiguousarray(srgb_to_lab(small)[..., 0])  # (contiguous: the repeat gathers it fast)
        checks.append(check_visibility(lightness, repeat, shown, cfg["visibility"]))
    if cfg["duplicates"].get("enabled", True):
        checks.append(check_duplicates(rgb8, provider, cfg["duplicates"]))
    for i, check in enumerate(checks):
        reason = cfg.get(check.name, {}).get("skip_reason")
        if reason:  # the caller knows better (a style that is soft by design, say)
            checks[i] = CheckResult(check.name, check.label, SKIP, check.score, check.threshold, reason,
                                    check.details, check.overlay_source)
    checks = [_at_shape(check, shown) for check in checks]
    judged = [int(rgb8.shape[1]), int(rgb8.shape[0])]
    return QAReport(w, h, repeat.value, cfg.get("name", "custom"), checks,
                    (time.perf_counter() - start) * 1000, source, judged_at=judged if judged != [w, h] else None)
