"""Palettes: curated ones from resources/palettes, "#hex,#hex" strings, and extraction from images."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.errors import UserError
from desktop.resources import resources_dir

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Palette:
    """An ordered set of sRGB colours; `weights` (pixel shares) when extracted from an image."""

    colors: tuple[tuple[int, int, int], ...]
    name: str = ""
    weights: tuple[float, ...] = field(default=())

    def __post_init__(self):
        if not self.colors:
            raise UserError("a palette needs at least one colour")

    @property
    def hex(self) -> list[str]:
        return [to_hex(c) for c in self.colors]

    def array(self) -> np.ndarray:
        """The colours as a (K, 3) float32 array in 0..1."""
        return np.asarray(self.colors, dtype=np.float32) / 255.0

    def as_dict(self) -> dict:
        out: dict = {"name": self.name, "colors": self.hex}
        if self.weights:
            out["weights"] = [round(w, 4) for w in self.weights]
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Palette | None:
        """The palette `as_dict` wrote (a tile's metadata keeps one), or None where there is none
        or it cannot be read."""
        try:
            return cls(tuple(parse_hex(c) for c in raw["colors"]), name=str(raw.get("name") or ""))
        except (KeyError, TypeError, AttributeError, UserError):
            return None


def to_hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in color))


def parse_hex(text: str) -> tuple[int, int, int]:
    match = _HEX.match(text.strip())
    if not match:
        raise UserError(f"'{text.strip()}' is not a hex colour (use #rrggbb or #rgb)")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def user_palette_dir() -> Path:
    """Where the studio's own saved palettes live (beside the settings)."""
    from desktop.config import resolve_paths

    return resolve_paths().config_dir / "palettes"


def _palette_folders() -> list[Path]:
    return [user_palette_dir(), resources_dir() / "palettes"]  # a saved palette shadows a bundled one


def palette_names() -> list[str]:
    return sorted({p.stem for folder in _palette_folders() for p in folder.glob("*.json")})


def is_saved(name: str) -> bool:
    return (user_palette_dir() / f"{name}.json").is_file()


def load_named(name: str) -> Palette:
    path = next((f / f"{name}.json" for f in _palette_folders() if (f / f"{name}.json").is_file()), None)
    if path is None:
        known = ", ".join(palette_names()) or "none installed"
        raise UserError(f"unknown palette '{name}' (known: {known}; or give colours as \"#hex,#hex\")")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Palette(tuple(parse_hex(c) for c in raw["colors"]), name=name)
    except (ValueError, KeyError, TypeError):
        raise UserError(f"the palette file {path} is damaged; remove it or save the palette again") from None


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    if not text:
        raise UserError("a palette needs a name with letters or digits")
    return text[:60]


def save_palette(name: str, palette: Palette) -> str:
    """Save a palette under a name the Brief and the CLI then offer; returns the name it is saved as."""
    from desktop.config import atomic_write_bytes

    key = slug(name)
    payload = {"name": name.strip(), "colors": palette.hex}
    try:
        atomic_write_bytes(user_palette_dir() / f"{key}.json", (json.dumps(payload, indent=2) + "\n").encode())
    except OSError as exc:
        raise UserError(f"could not save the palette: {exc.strerror or exc}") from None
    return key


def delete_palette(name: str) -> None:
    path = user_palette_dir() / f"{name}.json"
    if not path.is_file():
        raise UserError(f"'{name}' is not a saved palette (bundled palettes cannot be deleted)")
    path.unlink()


DEFAULT_PALETTE = "indigo-dye"  # the CLI's and the window's, one place


def parse_palette(spec: str | Palette | None, default: str = DEFAULT_PALETTE) -> Palette:
    """A palette from a name, a "#hex,#hex,..." string, or None for the default."""
    if isinstance(spec, Palette):
        return spec
    if spec is None or not str(spec).strip():
        return load_named(default)
    spec = str(spec).strip()
    if "#" in spec or "," in spec:
        parts = [p for p in re.split(r"[,\s]+", spec) if p]
        return Palette(tuple(parse_hex(p) for p in parts), name="custom")
    return load_named(spec)


def extract_palette(rgb: np.ndarray, k: int = 6, sample: int = 40_000, seed: int = 0,
                    attempts: int = 4) -> Palette:
    """The main colours of an image: k-means in CIELAB, sorted by the share of pixels they cover.

    `rgb` is HxWx3 (uint8, or float in 0..1). An alpha channel, if present, is dropped
    after removing fully transparent pixels.
    """
    import cv2

    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise UserError("palette extraction needs an RGB image")
    pixels = arr.reshape(-1, arr.shape[2])
    scale = 255.0 if arr.dtype == np.uint8 else 1.0
    if pixels.shape[1] == 4:
        pixels = pixels[pixels[:, 3] > 0.01 * scale, :3]
    if len(pixels) == 0:
        raise UserError("the image has no opaque pixels to take colours from")
    if len(pixels) > sample:  # a random sample (with replacement: far cheaper, just as fair)
        pixels = pixels[np.random.default_rng(seed).integers(0, len(pixels), sample)]
    pixels = pixels.astype(np.float32) / np.float32(scale)
    lab = cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    # no more clusters than distinct colours (flat artwork: two colours give two, not two and
    # three copies of one, whatever the sample size)
    distinct = len(np.unique((np.round(lab).astype(np.int64) + 128) @ np.array([1, 1000, 1000000])))
    k = max(1, min(k, distinct))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 0.05)
    _, labels, centers = cv2.kmeans(lab, k, None, criteria, attempts, cv2.KMEANS_PP_CENTERS)
    keep = np.bincount(labels.ravel(), minlength=k) > 0  # drop clusters that ended up empty
    if not keep.all():
        centers = centers[keep]
        labels = np.searchsorted(np.flatnonzero(keep), labels)
        k = len(centers)
    counts = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    order = np.argsort(-counts)
    centers_rgb = cv2.cvtColor(centers[order].reshape(-1, 1, 3).astype(np.float32), cv2.COLOR_LAB2RGB)
    colors = tuple(tuple(round(float(v)) for v in np.clip(c, 0, 1) * 255) for c in centers_rgb.reshape(-1, 3))
    weights = tuple(float(w) for w in counts[order] / counts.sum())
    return Palette(colors, name="extracted", weights=weights)


def palette_from_image_file(path: str | Path, k: int = 6) -> Palette:
    from desktop.engine.images import load_rgb

    return extract_palette(load_rgb(path), k=k)
