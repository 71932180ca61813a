"""Mockup rendering: the sampler that puts the repeat on a product's surface, and the whole render.

The sampler remaps the repeat's basic period once, bilinearly with wrap (`mockups.sample`). The
baseline, measured in the same run on the same tiles and scenes, is the sampler it replaced:
four lookups of each point's neighbours through `repeat.plane_to_tile`, mixed in numpy (kept
here as `four_lookups`). The two agree to float rounding; the script checks that too.

Tiles are 512 px crops of the shared seamless textures where ../shared is present, else random
noise of that size; each is rendered in every repeat on every product.

    .venv/bin/python benchmarks/mockups.py [--tiles 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine, median_ms, texture_crops  # noqa: E402

from desktop.engine import mockups  # noqa: E402
from desktop.repeat import REPEATS, plane_to_tile  # noqa: E402


def four_lookups(tile, repeat, tile_in, u, v, ppi_near):
    """The baseline: each point's four neighbours found through plane_to_tile, mixed bilinearly."""
    texture, kx, ky = mockups._texture(tile, repeat, tile_in, ppi_near)
    th, tw = texture.shape[:2]
    x, y = u * kx - 0.5, v * ky - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None].astype(np.float32), (y - y0)[..., None].astype(np.float32)
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    out = np.zeros((*u.shape, 3), np.float32)
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                           (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        tx, ty = plane_to_tile(repeat, tw, th, x0 + dx, y0 + dy)
        out += texture[ty, tx] * weight
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    made, described = texture_crops(args.tiles)
    real_sample = mockups.sample
    rows, worst = {}, 0.0
    for product in mockups.PRODUCTS:
        w, h = mockups.PRODUCTS[product].size
        scene = mockups.scene(product, w * mockups.SUPER, h * mockups.SUPER)
        sample_old, sample_new, render_old, render_new = [], [], [], []
        for rgb in made:
            tile_in = mockups.tile_inches(rgb.shape[1], rgb.shape[0], 150)
            for repeat in REPEATS:
                args_of = (rgb, repeat, tile_in, scene.u, scene.v, scene.near_ppi)
                new, old = partial(real_sample, *args_of), partial(four_lookups, *args_of)
                worst = max(worst, float(np.abs(new() - old()).max()))
                sample_new.append(median_ms(new, args.runs))
                sample_old.append(median_ms(old, args.runs))
                render = partial(mockups.render, rgb, repeat, product, tile_in)
                render_new.append(median_ms(render, args.runs))
                mockups.sample = four_lookups
                try:
                    render_old.append(median_ms(render, args.runs))
                finally:
                    mockups.sample = real_sample
        rows[product] = {
            "render_px": [w * mockups.SUPER, h * mockups.SUPER],
            "sample_ms": round(statistics.median(sample_new), 1),
            "baseline_sample_ms": round(statistics.median(sample_old), 1),
            "sample_over_baseline": round(statistics.median(sample_new) / statistics.median(sample_old), 3),
            "render_ms": round(statistics.median(render_new), 1),
            "baseline_render_ms": round(statistics.median(render_old), 1),
            "render_over_baseline": round(statistics.median(render_new) / statistics.median(render_old), 3),
        }
    print(json.dumps({
        "benchmark": "mockups",
        "machine": machine(),
        "tiles": described,
        "repeats": list(REPEATS), "runs": args.runs,
        "figures": "medians over tiles and repeats of each case's median",
        "largest_difference_from_baseline_0_255": round(worst, 5),
        "products": rows,
    }, indent=2))


if __name__ == "__main__":
    main()
