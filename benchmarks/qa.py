"""Full QA of a 1024x1024 image: median ms ÷ the PNG decode ms of the same image, same run.

Full QA = every check of the default profile (seam, palette with a brief palette,
contrast, sharpness, print, repeat visibility, duplicates hook): scores, verdicts, words and
details. Overlays are made when asked for (`CheckResult.overlay`); `with_overlays_ms` also
makes every overlay at the image's size, as the window does for the tile it shows.
Images: real textures from ../shared/data/textures/seamless when present, plus
procedural tiles. Prints JSON. Goal: ratio <= 1.0.

    python benchmarks/qa.py [--runs 15]

QA, QA with its overlays and the decode are timed in turn, one of each per round (`interleaved_ms`),
so the ratio compares calls made side by side.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
from pathlib import Path

import numpy as np
from PIL import Image
from timing import interleaved_ms, machine

from desktop.engine import procedural
from desktop.engine.images import load_rgb, png_bytes
from desktop.engine.qa import run_qa
from desktop.palettes import parse_palette

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "textures" / "seamless"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    palette = parse_palette("botanical")
    images = {}
    for name in ("moss-plants.jpg", "grass-autumn-red-leaves.jpg", "sand-desert-ripples.jpg"):
        if (SHARED / name).is_file():
            images[name] = load_rgb(SHARED / name)
    for style in ("toss", "plaid", "fbm"):
        images[f"procedural:{style}"] = (procedural.render(style, {}, "half-drop", 1024, 1024, palette, 1) * 255
                                         ).astype(np.uint8)
    rows = []
    for name, image in images.items():
        repeat = "half-drop" if name.startswith("procedural") else "basic"
        run_qa(image, repeat, palette)  # warm-up
        data = png_bytes(image)
        timed = interleaved_ms({
            "qa": lambda image=image, repeat=repeat: run_qa(image, repeat, palette),
            "full": lambda image=image, repeat=repeat: run_qa(image, repeat, palette).overlays(),
            "decode": lambda data=data: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
        }, args.runs)
        qa_ms, full_ms, decode_ms = timed["qa"], timed["full"], timed["decode"]
        rows.append({"image": name, "size": list(image.shape[1::-1]), "qa_ms": round(qa_ms, 1),
                     "png_decode_ms": round(decode_ms, 1), "ratio": round(qa_ms / decode_ms, 2),
                     "with_overlays_ms": round(full_ms, 1), "with_overlays_ratio": round(full_ms / decode_ms, 2)})
    print(json.dumps({
        "benchmark": "qa", "runs": args.runs, "goal_ratio": 1.0, "images": rows,
        "median_ratio": round(statistics.median(r["ratio"] for r in rows), 2),
        "max_ratio": max(r["ratio"] for r in rows),
        "median_with_overlays_ratio": round(statistics.median(r["with_overlays_ratio"] for r in rows), 2),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
