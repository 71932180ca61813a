"""Mockup rendering: the sampler that puts the repeat on a product's surface, and the whole render.

The sampler remaps the repeat's basic period once, bilinearly with wrap (`mockups.sample`), and
the render composites it as `base + colour * gain`, the scene's two factors folded once when the
scene is built (`mockups.Scene`). The baselines, measured in the same run on the same tiles and
scenes, are what they replaced, kept here: the sampler `four_lookups` (each point's neighbours
found through `repeat.plane_to_tile`, mixed in numpy), and the render `step_by_step` (that
sampler, then the plain strip, light, background, shadow and what stands in front applied to
each tile in turn). They agree to float rounding, and to a level of 0..255 after the final
rounding; the script checks both.

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


class KeepingScene(mockups.Scene):
    """The scene as before: its parts are kept, for `step_by_step` to apply to every tile."""

    def __post_init__(self, *parts) -> None:
        super().__post_init__(*parts)
        self.parts = parts


def step_by_step(tile, repeat, product, tile_in):
    """The baseline render: what `mockups.render` did before its scene's factors were folded."""
    import cv2

    width, height = mockups.PRODUCTS[product].size
    made = mockups.scene(product, width * mockups.SUPER, height * mockups.SUPER)
    shade, background, plain, plain_colour, shadow, front = made.parts
    colour = four_lookups(tile, repeat, tile_in, made.u, made.v, made.near_ppi)
    if plain is not None:
        colour[plain] = plain_colour
    mask = made.mask[..., None]
    image = background * (1 - mask) + colour * shade[..., None] * mask
    if shadow is not None:
        image *= shadow[..., None]
    if front is not None:
        alpha, colour_in_front = front
        image = image * (1 - alpha[..., None]) + colour_in_front * alpha[..., None]
    image = cv2.resize(np.clip(image, 0, 255).astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    result = mockups.Mockup(np.clip(image + 0.5, 0, 255).astype(np.uint8), product, repeat, tile_in, made.surface_in)
    if product == "swatch":
        result.image = mockups._rulers(result, "in")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiles", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    made, described = texture_crops(args.tiles)
    mockups.Scene = KeepingScene  # the scenes keep their parts too, for the baseline
    mockups.scene.cache_clear()
    rows, worst, worst_level = {}, 0.0, 0
    for product in mockups.PRODUCTS:
        w, h = mockups.PRODUCTS[product].size
        scene = mockups.scene(product, w * mockups.SUPER, h * mockups.SUPER)
        sample_old, sample_new, render_old, render_new = [], [], [], []
        for rgb in made:
            tile_in = mockups.tile_inches(rgb.shape[1], rgb.shape[0], 150)
            for repeat in REPEATS:
                args_of = (rgb, repeat, tile_in, scene.u, scene.v, scene.near_ppi)
                new, old = partial(mockups.sample, *args_of), partial(four_lookups, *args_of)
                worst = max(worst, float(np.abs(new() - old()).max()))
                sample_new.append(median_ms(new, args.runs))
                sample_old.append(median_ms(old, args.runs))
                render = partial(mockups.render, rgb, repeat, product, tile_in)
                before = partial(step_by_step, rgb, repeat, product, tile_in)
                level = np.abs(render().image.astype(int) - before().image.astype(int)).max()
                worst_level = max(worst_level, int(level))
                render_new.append(median_ms(render, args.runs))
                render_old.append(median_ms(before, args.runs))
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
        "largest_sample_difference_from_baseline_0_255": round(worst, 5),
        "largest_render_difference_from_baseline_levels": worst_level,
        "products": rows,
    }, indent=2))


if __name__ == "__main__":
    main()
