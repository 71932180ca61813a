"""Sheets for the blind test of which broken wraps a person sees (tests/seam_visibility.csv).

    python tests/seam_sheets.py OUT_FOLDER [--seed 2026]

Every broken crop and misclaimed repeat of the evaluation set (tests/seam_cases.py) becomes a cell:
two 160 px windows of the tile, tiled through its repeat, at 1:1 with the contrast doubled: one
centred on the wrap's corner (so both seams cross its centre), one centred inside the tile, in a
random order. Nine cells a sheet. The viewer names, for each cell, the window with the seam (A or
B), or ? when they cannot tell; OUT_FOLDER/key.json says which it was. Run from the repository root
with ../shared beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIDE, PER_SHEET = 160, 9


def _cell(case, rng) -> tuple[np.ndarray, str]:
    from desktop.repeat import parse_repeat, window

    img = case.image if case.image.dtype == np.uint8 else np.clip(case.image, 0, 255).astype(np.uint8)
    h, w = img.shape[:2]
    repeat = parse_repeat(case.repeat)
    seam = window(img, repeat, w - SIDE // 2, h - SIDE // 2, SIDE, SIDE)
    inside = window(img, repeat, w // 2 - SIDE // 2, h // 2 - SIDE // 2, SIDE, SIDE)
    swap = bool(rng.integers(0, 2))
    shown = []
    for part in ([inside, seam] if swap else [seam, inside]):
        f = part.astype(np.float32)
        mean = f.mean(axis=(0, 1))
        shown.append(np.clip((f - mean) * 2.0 + mean, 0, 255).astype(np.uint8))
    gap = np.full((SIDE, 6, 3), 255, np.uint8)
    return np.concatenate([shown[0], gap, shown[1]], axis=1), "B" if swap else "A"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    from PIL import Image, ImageDraw
    from seam_cases import build

    from conftest import SHARED_DATA

    cases = [c for c in build(SHARED_DATA) if c.kind in ("crop", "lined crop", "misclaimed") and not c.tiles]
    rng = np.random.default_rng(args.seed)
    cases = [cases[i] for i in rng.permutation(len(cases))]
    args.out.mkdir(parents=True, exist_ok=True)
    key = {}
    for first in range(0, len(cases), PER_SHEET):
        cells = []
        for number, case in enumerate(cases[first:first + PER_SHEET], start=first + 1):
            cell, seam_in = _cell(case, rng)
            key[number] = {"name": case.name, "seam": seam_in}
            cells.append((number, cell))
        width = cells[0][1].shape[1]
        sheet = Image.new("RGB", (3 * (width + 24), 3 * (SIDE + 18)), "white")
        draw = ImageDraw.Draw(sheet)
        for i, (number, cell) in enumerate(cells):
            row, col = divmod(i, 3)
            x, y = col * (width + 24), row * (SIDE + 18)
            sheet.paste(Image.fromarray(cell), (x, y + 18))
            draw.text((x + 2, y + 3), f"{number}: A | B", fill="black")
        sheet.save(args.out / f"sheet{first // PER_SHEET + 1:02d}.png")
    (args.out / "key.json").write_text(json.dumps(key, indent=1))
    print(f"{len(cases)} cases on {(len(cases) + PER_SHEET - 1) // PER_SHEET} sheets in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
