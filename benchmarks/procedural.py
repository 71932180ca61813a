"""Each procedural style at 1024x1024: median render time / PNG decode time of the same image.

The baseline is decoding that style's own 1024x1024 PNG with Pillow, measured in the
same run, so the ratio says "how many image loads does drawing this tile cost".
Prints JSON. Goal: ratio <= 3. `first_ms` is the first tile of this size (after one small tile
has loaded what a process loads once): a style that keeps work for the next tile of the same
size (the kaleidoscope's folded coordinates) pays it there.

    python benchmarks/procedural.py [--size 1024] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time

import numpy as np
from PIL import Image
from timing import machine, median_ms

from desktop.engine import procedural
from desktop.engine.images import png_bytes
from desktop.palettes import parse_palette


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat", default="basic")
    args = parser.parse_args()
    palette = parse_palette("botanical")
    rows = []
    for name in procedural.style_names():
        def render(name=name, size=args.size):
            return procedural.render(name, {}, args.repeat, size, size, palette, 7)

        render(size=128)  # what a process loads once (imports), so that `first_ms` is a new size's first tile
        start = time.perf_counter()
        image = render()  # warm-up, and the image whose PNG is the baseline
        first_ms = (time.perf_counter() - start) * 1000  # with what a style keeps for the next tile made
        render_ms = median_ms(render, args.runs)
        data = png_bytes(image)
        decode_ms = median_ms(lambda data=data: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), 5)
        rows.append({"style": name, "render_ms": round(render_ms, 1), "png_decode_ms": round(decode_ms, 1),
                     "ratio": round(render_ms / decode_ms, 2), "first_ms": round(first_ms, 1),
                     "first_ratio": round(first_ms / decode_ms, 2)})
    ratios = [r["ratio"] for r in rows]
    print(json.dumps({
        "benchmark": "procedural",
        "size": args.size, "repeat": args.repeat, "runs": args.runs, "goal_ratio": 3.0,
        "styles": rows,
        "median_ratio": round(statistics.median(ratios), 2),
        "within_goal": sum(r <= 3.0 for r in ratios),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
