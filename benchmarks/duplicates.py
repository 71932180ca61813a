"""Duplicates and derivatives on the shared real images: how many true pairs the finder reports and
how many false ones, with the layout check (`desktop.library.alignment`) and without it (the
candidates of the descriptor, pHash and texture part alone: the finder before it), and what the
check costs, in the same run.

Each of the 79 images (seamless tiles, photos, hard negatives) goes into a fresh library with
eight copies of it: shifted, flipped, turned, scaled down, scaled up, hue-turned, inverted, and
shifted then JPEG re-saved. Every pair within one image's family is a true pair; so are the
pairs of the three families the source set itself holds as one design recoloured or rescaled
(two MrMamurk papers in two colours, one at two scales, and a retro wallpaper in two ditherings).
Every other pair is false.

    .venv/bin/python benchmarks/duplicates.py [--images N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("TESSERA_SHARED_DATA", ROOT.parent / "shared" / "data")) / "textures"
ONE_DESIGN = [("paper-grey-grain", "paper-sage-grain"), ("paper-white-fine", "paper-white-laid"),
              ("retro-circle-gradient-olive", "retro-circle-gradient-safety")]


def copies(src: np.ndarray) -> dict[str, np.ndarray]:
    h, w = src.shape[:2]
    hsv = cv2.cvtColor(src, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 12) % 180
    _, jpeg = cv2.imencode(".jpg", np.ascontiguousarray(np.roll(src, (h // 3, w // 5), axis=(0, 1))[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, 70])
    return {"shifted": np.roll(src, (h * 2 // 7, w // 3), axis=(0, 1)), "flipped": src[:, ::-1],
            "turned": np.rot90(src), "scaled": cv2.resize(src, (w * 2 // 3, h * 2 // 3), interpolation=cv2.INTER_AREA),
            "upscaled": cv2.resize(src, (w * 3 // 2, h * 3 // 2), interpolation=cv2.INTER_CUBIC),
            "recoloured": cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), "inverted": 255 - src,
            "jpeg": cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1]}


def score(pairs, family: dict[int, str], true_pairs: int) -> dict:
    found = [p for p in pairs if family[p["a"]] == family[p["b"]]]
    false = [p for p in pairs if family[p["a"]] != family[p["b"]]]
    return {"true_found": len(found), "recall": round(len(found) / true_pairs, 4), "false": len(false),
            "false_examples": sorted({f"{family[p['a']]} ~ {family[p['b']]}" for p in false})[:6]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=0, help="only the first N images (0: all)")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(json.dumps({"skipped": f"no shared data at {DATA}"}))
        return
    from desktop.engine.images import load_rgb, save_png
    from desktop.library import Library
    from desktop.library import search as finder

    files = sorted(p for d in ("seamless", "photos", "hard-negatives") for p in (DATA / d).iterdir()
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    files = files[:args.images] if args.images else files
    merged = {b: a for a, b in ONE_DESIGN}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        staged, family_of_file = [], {}
        for path in files:
            rgb = load_rgb(path)
            for name, pixels in {"original": rgb, **copies(rgb)}.items():
                target = tmp / "in" / f"{path.stem}--{name}.png"
                target.parent.mkdir(exist_ok=True)
                save_png(target, np.ascontiguousarray(pixels))
                staged.append(target)
                family_of_file[target.name] = merged.get(path.stem, path.stem)
        with Library(tmp / "lib") as lib:
            t = time.perf_counter()
            finder.import_into(lib, staged)
            import_s = time.perf_counter() - t
            family = {p["id"]: family_of_file[Path(p["provenance"]["source"]).name]
                      for p in (lib.get(i["id"]) for i in lib.list(limit=100_000))}
            sizes: dict[str, int] = {}
            for name in family.values():
                sizes[name] = sizes.get(name, 0) + 1
            true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
            finder.duplicates(lib)  # warm: the index loaded, the thumbnails made
            t = time.perf_counter()
            finder.duplicate_candidates(lib)  # the finder before the layout check: the baseline
            candidates_s = time.perf_counter() - t
            before = finder.duplicates(lib, finder.Thresholds(alignment=0.0))  # the same pairs, with their alignment
            t = time.perf_counter()
            after = finder.duplicates(lib)
            checked_s = time.perf_counter() - t
            worst_true = min((p["alignment"] for p in before if family[p["a"]] == family[p["b"]]), default=None)
            best_false = max((p["alignment"] for p in before if family[p["a"]] != family[p["b"]]), default=None)
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU", "images": len(files),
        "patterns": len(family), "true_pairs": true_pairs, "import_s": round(import_s, 1),
        "candidates_only": score(before, family, true_pairs), "with_layout_check": score(after, family, true_pairs),
        "candidates": len(before), "lowest_true_alignment": worst_true, "highest_false_alignment": best_false,
        "candidates_only_s": round(candidates_s, 3), "with_layout_check_s": round(checked_s, 3),
        "cost_ratio": round(checked_s / candidates_s, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
