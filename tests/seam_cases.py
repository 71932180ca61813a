"""The seam judgment's evaluation set, built from the real textures in ../shared/data/textures.

Every case is an image, the repeat it claims, its class and the truth (does it tile under that
repeat). The truth comes from how the case was made, checked where it matters against the pixels
(a texture whose own period makes a "broken" crop tile after all is labelled by what it does):

- seamless:      each seamless texture under basic (structured ones too: lines on the edge);
- half-drop:     [S | S rolled down by H/2], a true half-drop tile, under half-drop; half-brick twin;
- crop:          a crop of a seamless texture at another size and origin (the wrap broken);
- lined crop:    the same, of the textures with strong lines (bricks, tiles, planks, plates, patterns);
- lighting:      a seamless texture under uneven light, ±10 % across the tile (banding when it repeats);
- misclaimed:    a basic tile claimed as half-drop or half-brick, a half-drop tile claimed as basic;
- photo:         the photographs, and the hard negatives (textures that do not tile).

Files are split by name, not by case: a third of them (every third in sorted order) is held out,
so no held-out case shares a source image with a case the thresholds were tuned on.

Which broken wraps a person can see is a second truth, beside the construction's: a crop of paper
grain breaks its wrap as surely as a crop of bricks, and nobody sees it (nor the wraps of three of
the seamless papers, which measure as broken as a crop). Every broken crop and misclaimed repeat
was looked at in a blind two-alternative test (tests/seam_visibility.csv, made with
tests/seam_sheets.py); `Case.seen` says whether its seam was found, None where it was not asked.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# textures whose strong lines (joints, planks, plates, drawn lines) let a broken edge hide among them
LINED = ("brick", "tiles", "plank", "plate", "cobblestone-wall", "pattern-", "retro-", "boxes", "stone-brick",
         "cells", "check")


@dataclass
class Case:
    name: str
    image: np.ndarray
    repeat: str
    kind: str
    tiles: bool  # the truth: it repeats without a seam under `repeat`
    held_out: bool
    seen: bool | None = None  # a broken wrap: whether a person found its seam (None: not asked)

    @property
    def decisive(self) -> bool:
        """Judged on the seams a person sees: every case but a broken wrap that nobody saw, which a
        verdict either way serves (the tile does not tile, and no wall of it shows a seam)."""
        return self.seen is not False


def _read(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return rgb


def _halve(img: np.ndarray) -> np.ndarray:
    """Large tiles at half size (exact 2x2 means: a seamless tile stays seamless), to keep the set quick."""
    h, w = img.shape[:2]
    if max(h, w) < 768 or h % 2 or w % 2:
        return img
    return img.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Two rows (columns) of pixels are the same, but for rounding."""
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean()) < 2.0


def _period(row: dict, halved: bool) -> tuple[int, int]:
    """The texture's own period (width, height) from labels.csv, in the pixels of the image as used."""
    w, h = (int(v) for v in (row["base_period"] or f"{row['width']}x{row['height']}").split("x"))
    return (w // 2, h // 2) if halved else (w, h)


def _ramp(h: int, w: int, direction: str, amount: float = 0.10) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = {"x": x / (w - 1), "y": y / (h - 1), "xy": (x / (w - 1) + y / (h - 1)) / 2}[direction]
    return (1 - amount + 2 * amount * t)[..., None]


def build(root: Path) -> list[Case]:
    with open(root / "labels.csv", encoding="utf-8") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    files = sorted(rows)
    rng = np.random.default_rng(31)
    cases: list[Case] = []
    for index, file in enumerate(files):
        row, held = rows[file], index % 3 == 0
        full = _read(root / file)
        img = _halve(full)
        h, w = img.shape[:2]
        pw, ph = _period(row, img.shape != full.shape)
        stem = Path(file).stem
        if row["folder"] != "seamless":
            cases.append(Case(stem, img, "basic", "photo", False, held))
            continue
        cases.append(Case(stem, img, "basic", "seamless", True, held))
        lined = any(mark in stem for mark in LINED)
        # a real texture rightly claimed as half-drop (half-brick): two periods stacked, dropped by one
        cases.append(Case(stem + ":half-drop", np.concatenate([img, img]), "half-drop", "half-drop", True, held))
        cases.append(Case(stem + ":half-brick", np.concatenate([img, img], axis=1), "half-brick", "half-drop",
                          True, held))
        if h % 2 == 0:
            cases.append(Case(stem + ":basic-as-half-drop", img, "half-drop", "misclaimed",
                              _same(img[:, 0], np.roll(img[:, 0], h // 2, axis=0)), held))
        if w % 2 == 0:
            cases.append(Case(stem + ":basic-as-half-brick", img, "half-brick", "misclaimed",
                              _same(img[0], np.roll(img[0], w // 2, axis=0)), held))
        for k in range(2):
            ch, cw = (round(s * rng.uniform(0.55, 0.85)) for s in (h, w))
            y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            crop = img[y0:y0 + ch, x0:x0 + cw]
            # a crop tiles only when its sides are whole periods of the texture
            cases.append(Case(f"{stem}:crop{k}", crop, "basic", "lined crop" if lined else "crop",
                              cw % pw == 0 and ch % ph == 0, held))
        direction = ("x", "y", "xy")[index % 3]
        lit = np.clip(img.astype(np.float32) * _ramp(h, w, direction), 0, 255).round().astype(np.uint8)
        cases.append(Case(f"{stem}:light-{direction}", lit, "basic", "lighting", False, held))
    cases += _engine_cases(root, files)
    seen = visibility()
    for case in cases:
        case.seen = seen.get(case.name)
    return cases


VISIBILITY = Path(__file__).with_name("seam_visibility.csv")


def visibility() -> dict[str, bool]:
    """The blind test's answers: case name -> whether its seam was found."""
    with open(VISIBILITY, encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {row["case"]: row["seen"] == "1" for row in rows}


ENGINE_STYLES = (("marble", None), ("fbm", None), ("worley", {"mode": "cracks"}), ("toss", None),
                 ("motif", {"layout": "grid"}), ("value-noise", {"scale": 3}), ("gradient-noise", None))


def _engine_cases(root: Path, files: list[str]) -> list[Case]:
    """Half-drop and half-brick tiles as the procedural engine draws them (true ones), claimed rightly and
    as basic; with kaleidoscopes folded from the real photos, so real content is in them too."""
    from desktop.engine import procedural
    from desktop.palettes import DEFAULT_PALETTE, load_named

    photos = [f for f in files if f.startswith("photos/")]
    styles = [*ENGINE_STYLES, *(("kaleidoscope", {"image_path": str(root / f), "colours": "image", "group": g})
                                 for f, g in zip(photos[:4], ("pmm", "p4m", "p3m1", "p6m")))]
    cases = []
    for k, (style, params) in enumerate(styles):
        held = k % 3 == 0
        for repeat in ("half-drop", "half-brick"):
            tile = procedural.render(style, params, repeat, 192, 160, load_named(DEFAULT_PALETTE), seed=k + 1)
            name = f"engine-{style}-{k}:{repeat}"
            cases.append(Case(name, tile, repeat, "half-drop", True, held))
            # as basic it tiles only if the drop (shift) moves its edge onto itself
            edge = tile[:, 0] if repeat == "half-drop" else tile[0]
            cases.append(Case(name + "-as-basic", tile, "basic", "misclaimed",
                              _same(edge, np.roll(edge, len(edge) // 2, axis=0)), held))
    return cases
