"""Colour checks: palette adherence (CIEDE2000) and WCAG contrast, plus the colour maths they share."""

from __future__ import annotations

import cv2
import numpy as np

from desktop.engine.qa.overlay import scaled
from desktop.engine.qa.report import FAIL, PASS, SKIP, CheckResult
from desktop.palettes import Palette, extract_palette, to_hex


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (float 0..1 or uint8), any leading shape, to CIELAB (D65)."""
    arr = np.asarray(rgb)
    arr = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
    shape = arr.shape
    if arr.ndim == 3:  # an image: OpenCV converts it whole, on its threads
        return cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2LAB)
    return cv2.cvtColor(arr.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(shape)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (scikit-image's implementation)."""
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(np.asarray(lab1, np.float64), np.asarray(lab2, np.float64))


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB colours in 0..1."""
    c = np.asarray(rgb, np.float64)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


_LINEAR_LUT = np.where(np.arange(256) / 255 <= 0.04045, np.arange(256) / 255 / 12.92,
                       ((np.arange(256) / 255 + 0.055) / 1.055) ** 2.4).astype(np.float32)


def luminance_map(rgb8: np.ndarray) -> np.ndarray:
    """relative_luminance of every pixel of an HxWx3 uint8 image, through a 256-entry table (float32)."""
    lin = _LINEAR_LUT[rgb8[..., :3]]
    return lin[..., 0] * np.float32(0.2126) + lin[..., 1] * np.float32(0.7152) + lin[..., 2] * np.float32(0.0722)


def contrast_ratio(rgb_a, rgb_b) -> float:
    """WCAG 2 contrast ratio between two sRGB colours (0..1), 1 to 21."""
    la, lb = relative_luminance(np.asarray(rgb_a)), relative_luminance(np.asarray(rgb_b))
    hi, lo = max(la, lb), min(la, lb)
    return float((hi + 0.05) / (lo + 0.05))


def nearest_index(lab: np.ndarray, centres: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """For each Lab colour (N, 3), the index of the nearest of `centres` (K, 3) by ΔE76: exact and
    fast, in chunks that keep the N x K distance table small."""
    labels = np.empty(len(lab), np.int64)
    for start in range(0, len(lab), chunk):
        part = lab[start:start + chunk]
        labels[start:start + len(part)] = ((part[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
    return labels


def nearest_delta_e(lab: np.ndarray, palette_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each Lab colour (N, 3): ΔE2000 to the nearest palette colour, and that colour's index."""
    lab = np.asarray(lab).reshape(-1, 3)
    pairs = np.broadcast_arrays(lab[:, None, :], np.asarray(palette_lab).reshape(1, -1, 3))
    de = delta_e2000(*pairs)  # (N, K) in one call rather than one call per palette colour
    return de.min(axis=-1), de.argmin(axis=-1)


def check_palette(small: np.ndarray, full_shape: tuple[int, int], palette: Palette | None,
                  cfg: dict, major: Palette) -> CheckResult:
    """How far the tile's main colours sit from the brief's palette, weighted by coverage."""
    label = "Palette"
    if palette is None:
        return CheckResult("palette", label, SKIP, None, cfg["max_delta_e"], "No brief palette to compare with.")
    brief_lab = srgb_to_lab(palette.array())
    major_lab = srgb_to_lab(major.array())
    de, idx = nearest_delta_e(major_lab, brief_lab)
    weights = np.asarray(major.weights)
    score = float((de * weights).sum())
    # the share of the tile whose main colour sits far from every brief colour
    far = float(weights[de > cfg["far_delta_e"]].sum())

    def overlay() -> np.ndarray:  # per pixel of a 64-px copy: ΔE2000 to the nearest brief colour
        tiny = cv2.resize(small, (max(1, small.shape[1] // 4), max(1, small.shape[0] // 4)),
                          interpolation=cv2.INTER_AREA)
        # each distinct colour once (drawn designs have few; CIEDE2000 is costly per pair)
        flat = tiny.reshape(-1, 3).astype(np.int32)
        packed, where = np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2], return_inverse=True)
        colours = np.stack([packed >> 16, (packed >> 8) & 255, packed & 255], axis=1).astype(np.uint8)
        colour_de, _ = nearest_delta_e(srgb_to_lab(colours), brief_lab)
        heat = np.clip(colour_de[where.ravel()].reshape(tiny.shape[:2]) / cfg["far_delta_e"], 0, 1)
        return scaled(heat.astype(np.float32), full_shape)()

    passed = score <= cfg["max_delta_e"]
    worst = int(np.argmax(de * (weights > 0.03)))
    if passed:
        text = f"On palette: the main colours sit {score:.1f} ΔE from the brief's colours on average."
    else:
        text = (f"Off palette: the main colours are {score:.1f} ΔE from the brief on average; "
                f"{to_hex(major.colors[worst])} ({weights[worst]:.0%} of the tile) is the furthest.")
    details = {"colours": [{"hex": to_hex(c), "share": float(w), "delta_e": float(d),
                            "nearest": to_hex(palette.colors[int(i)])}
                           for c, w, d, i in zip(major.colors, weights, de, idx)],
               "share_far_from_palette": far}
    return CheckResult("palette", label, PASS if passed else FAIL, score, cfg["max_delta_e"], text, details, overlay)


def check_contrast(small: np.ndarray, full_shape: tuple[int, int], cfg: dict, major: Palette) -> CheckResult:
    """WCAG contrast between the lightest and darkest colours that cover at least 5 % of the tile."""
    weights = np.asarray(major.weights)
    colours = major.array()[weights >= 0.05]
    if len(colours) == 0:
        colours = major.array()[:1]
    lum = relative_luminance(colours)
    light, dark = colours[int(np.argmax(lum))], colours[int(np.argmin(lum))]
    ratio = contrast_ratio(light, dark)
    lo, hi = cfg.get("min_ratio"), cfg.get("max_ratio")
    too_low = lo is not None and ratio < lo
    too_high = hi is not None and ratio > hi

    def overlay() -> np.ndarray:  # each pixel's relative luminance, from the analysis copy
        pixel_lum = luminance_map(small) if small.dtype == np.uint8 else \
            relative_luminance(small.reshape(-1, 3)).reshape(small.shape[:2]).astype(np.float32)
        return scaled(pixel_lum, full_shape)()

    pair = f"{to_hex(np.round(light * 255))} against {to_hex(np.round(dark * 255))}"
    if too_low:
        text = f"Too flat: contrast {ratio:.2f}:1 ({pair}) is under the brief's minimum of {lo}:1."
    elif too_high:
        text = f"Too punchy for tone-on-tone: contrast {ratio:.2f}:1 ({pair}) is over {hi}:1."
    else:
        text = f"Contrast {ratio:.2f}:1 ({pair})."
    return CheckResult("contrast", "Contrast", FAIL if (too_low or too_high) else PASS, ratio,
                       hi if too_high else lo, text,
                       {"lightest": to_hex(np.round(light * 255)), "darkest": to_hex(np.round(dark * 255)),
                        "min_ratio": lo, "max_ratio": hi}, overlay)


def major_colours(small: np.ndarray, k: int) -> Palette:
    return extract_palette(small, k=k, sample=2048, attempts=1)  # shares to about ±1 %: plenty for QA
