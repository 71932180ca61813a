"""Duplicates and derivatives on the shared real images: how many true pairs the finder reports and
how many false ones, in the same run: before (the descriptor, pHash and texture part alone), with
the layout check (`desktop.library.alignment`) deciding those candidates, and now (each pattern's
nearest put forward too, the layout deciding), with what now costs against before.

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


def score(pairs, family: dict[int, str], copy_of: dict[int, str], true_pairs: int) -> dict:
    found = [p for p in pairs if family[p["a"]] == family[p["b"]]]
    false = [p for p in pairs if family[p["a"]] != family[p["b"]]]
    linked = {frozenset((p["a"], p["b"])) for p in found}
    missed: dict[str, int] = {}  # the true pairs not found, by the two copies' kinds
    for a in family:
        for b in family:
            if a < b and family[a] == family[b] and frozenset((a, b)) not in linked:
                kinds = " ~ ".join(sorted((copy_of[a], copy_of[b])))
                missed[kinds] = missed.get(kinds, 0) + 1
    return {"true_found": len(found), "recall": round(len(found) / true_pairs, 4), "false": len(false),
            "false_examples": sorted({f"{family[p['a']]} ~ {family[p['b']]}" for p in false})[:6],
            "missed_most": dict(sorted(missed.items(), key=lambda kv: -kv[1])[:8])}


def candidate_pass_at_scale(n: int) -> dict:
    """The candidate pass over n random index rows, with each pattern's nearest and without (what
    the pass costs at a size no real set here reaches; random rows have no pairs to check)."""
    from desktop.library import search as finder

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, 112)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    hashes = rng.integers(0, 2 ** 63, (n, 3))
    rows = [{"id": i, "vector": vectors[i], "hashes": [int(h) for h in hashes[i]]} for i in range(n)]
    times = {}
    for nearest in (0, finder.NEAREST):
        t = time.perf_counter()
        finder.candidates_of(rows, nearest=nearest)
        times[nearest] = time.perf_counter() - t
    return {"rows": n, "candidate_pass_s_before": round(times[0], 2), "candidate_pass_s_now": round(times[finder.NEAREST], 2),
            "now_over_before": round(times[finder.NEAREST] / times[0], 2)}


def generation_cost(lib) -> dict:
    """What asking the library costs a procedural tile's QA (512², five seeds a style): without
    the hook (the baseline), with it, and with it again (the neighbours' layouts kept; in this
    run the finder above has made most thumbnails already, as the grid does in the window)."""
    from desktop.engine.generate import GenerateRequest, run_generate
    from desktop.library import search as finder

    similar = finder.LibrarySimilarity(lib)
    run_generate(GenerateRequest(style="toss", width=512, height=512, seed=99, out_dir=None), similar=similar)
    out = {}
    for style in ("toss", "fbm", "plaid"):
        times = {}
        for name, hook in (("without", None), ("first", similar), ("again", similar)):
            start = time.perf_counter()
            for seed in range(5):
                run_generate(GenerateRequest(style=style, width=512, height=512, seed=seed, out_dir=None), similar=hook)
            times[name] = (time.perf_counter() - start) / 5
        out[style] = {"ms_without": round(times["without"] * 1000, 1), "ms_first": round(times["first"] * 1000, 1),
                      "ms_again": round(times["again"] * 1000, 1),
                      "first_over_without": round(times["first"] / times["without"], 2),
                      "again_over_without": round(times["again"] / times["without"], 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=0, help="only the first N images (0: all)")
    parser.add_argument("--scale", type=int, default=20_000,
                        help="also time the candidate pass alone over this many random index rows (0: not)")
    args = parser.parse_args()
    if args.scale:
        print(json.dumps(candidate_pass_at_scale(args.scale)))
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
            sources = {i["id"]: Path(lib.get(i["id"])["provenance"]["source"]).name for i in lib.list(limit=100_000)}
            family = {pid: family_of_file[name] for pid, name in sources.items()}
            copy_of = {pid: name.rsplit("--", 1)[1].removesuffix(".png") for pid, name in sources.items()}
            sizes: dict[str, int] = {}
            for name in family.values():
                sizes[name] = sizes.get(name, 0) + 1
            true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
            t = time.perf_counter()
            finder.duplicates(lib)  # the first time: each candidate's thumbnail and layout made
            first_s = time.perf_counter() - t
            nearest, finder.NEAREST = finder.NEAREST, 0  # the candidates of the summaries alone
            t = time.perf_counter()
            before = finder.duplicate_candidates(lib)  # the finder before the layout check: the baseline
            before_s = time.perf_counter() - t
            gated = finder.duplicates(lib)  # the same candidates, decided by the layout check
            finder.NEAREST = nearest
            candidates = finder.duplicates(lib, finder.Thresholds(alignment=0.0))  # every candidate, with its alignment
            t = time.perf_counter()
            after = finder.duplicates(lib)
            after_s = time.perf_counter() - t
            generation = generation_cost(lib)
            worst_true = min((p["alignment"] for p in candidates if family[p["a"]] == family[p["b"]]), default=None)
            best_false = max((p["alignment"] for p in candidates if family[p["a"]] != family[p["b"]]), default=None)
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU", "images": len(files),
        "patterns": len(family), "true_pairs": true_pairs, "import_s": round(import_s, 1),
        "before (the summaries alone)": score(before, family, copy_of, true_pairs),
        "the same candidates, decided by the layout": score(gated, family, copy_of, true_pairs),
        "now (and each pattern's nearest, decided by the layout)": score(after, family, copy_of, true_pairs),
        "candidates_now": len(candidates), "lowest_true_alignment": worst_true, "highest_false_alignment": best_false,
        "before_s": round(before_s, 3), "now_first_s": round(first_s, 3), "now_s": round(after_s, 3),
        "now_over_before": round(after_s / before_s, 1),
        "generation_qa_with_the_library": generation,
    }, indent=2))


if __name__ == "__main__":
    main()
