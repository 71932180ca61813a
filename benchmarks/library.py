"""Library throughput: import rate against min(PNG decode rate, embedding rate), and reconcile
time at 100k patterns, each against a baseline measured in the same run. Prints JSON.

    python benchmarks/library.py [--files 200] [--patterns 100000] [--no-clip]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from desktop.engine import procedural
from desktop.engine.images import save_png
from desktop.library import Library
from desktop.library import search as finder
from desktop.library.descriptor import MODEL
from desktop.palettes import parse_palette


def make_files(folder: Path, n: int) -> list[Path]:
    """n different 512x512 tiles: every style in turn, each file with its own seed and palette (no
    two files alike, so no import is skipped as a duplicate)."""
    styles = procedural.style_names()
    paths = []
    for i in range(n):
        colours = np.random.default_rng(i).integers(0, 256, (4, 3))
        palette = parse_palette(",".join("#" + "".join(f"{int(v):02x}" for v in c) for c in colours))
        img = procedural.render(styles[i % len(styles)], {}, "basic", 512, 512, palette, i)
        paths.append(save_png(folder / f"{i:04d}.png", (img * 255).astype(np.uint8)))
    return paths


def import_rate(paths: list[Path], clip=None, repeats: int = 3) -> dict:
    """Import rate against min(PNG decode rate, embedding rate), all measured here on the same files,
    each `repeats` times in turn (the median is reported: this machine varies by 20 % run to run).

    The decode baseline is the faster of Pillow and OpenCV (the import decodes plain PNGs with
    OpenCV). The embedding is what the embedder does per file: the small copy and the look
    (descriptor, hashes, colour names), plus, with `clip` attached, its image vector and
    vocabulary tags, in batches of 64 as the embedder makes them.
    """
    import cv2

    from desktop.library.descriptor import small_copies
    from desktop.library.tagging import clip_tags

    finder.look_of(np.zeros((8, 8, 3), np.uint8))  # warm the imports
    data = [p.read_bytes() for p in paths]
    decoded = [np.asarray(Image.open(io.BytesIO(d)).convert("RGB")) for d in data]
    if clip is not None:
        clip_tags(clip, clip.embed_images(decoded[:2]))  # warm: the vocabulary's vectors are made once
    runs: dict[str, list[float]] = {"pillow": [], "opencv": [], "embed": [], "import": []}

    def timed(key: str, work, count: int) -> None:
        start = time.perf_counter()
        work()
        runs[key].append(count / (time.perf_counter() - start))

    def embed() -> None:
        for i in range(0, len(decoded), 64):
            finder.looks_of(small_copies(decoded[i:i + 64]))
            if clip is not None:
                clip_tags(clip, clip.embed_images(decoded[i:i + 64]))

    for _ in range(repeats):
        timed("pillow", lambda: [np.asarray(Image.open(io.BytesIO(d)).convert("RGB")) for d in data], len(data))
        timed("opencv", lambda: [cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR_RGB) for d in data],
              len(data))  # straight into RGB, the fastest OpenCV has (the import decodes so)
        timed("embed", embed, len(data))
        with tempfile.TemporaryDirectory() as root, Library(root) as lib:
            if clip is not None:
                finder.set_embedder(lib, clip)
            lib.import_paths(paths[:1])  # warm-up: the first file pays the one-time imports (lancedb, ...)
            finder.embed_pending(lib)
            timed("import", lambda: (finder.import_into(lib, paths[1:]), finder.embed_pending(lib)), len(paths) - 1)
    rate, pillow_rate, opencv_rate, embed_rate = (statistics.median(runs[k]) for k in ("import", "pillow", "opencv",
                                                                                      "embed"))
    decode_rate = max(pillow_rate, opencv_rate)
    baseline = min(decode_rate, embed_rate)
    return {"files": len(paths), "clip": clip.name if clip is not None else None, "import_per_s": round(rate, 1),
            "png_decode_per_s": round(decode_rate, 1), "pillow_decode_per_s": round(pillow_rate, 1),
            "opencv_decode_per_s": round(opencv_rate, 1), "embed_per_s": round(embed_rate, 1),
            "ratio": round(rate / baseline, 3), "ratio_to_pillow_decode": round(rate / min(pillow_rate, embed_rate), 3),
            "runs_per_s": {k: [round(v, 1) for v in vs] for k, vs in runs.items()}, "goal": 0.8}


def reconcile_time(n: int) -> dict:
    with tempfile.TemporaryDirectory() as root, Library(root) as lib:
        now = "2026-01-01 00:00:00"
        with lib.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM embedding_outbox")
            conn.connection.executemany(
                "INSERT INTO pattern (id, sha256, file, width, height, repeat, status, rating, title, created, updated)"
                " VALUES (?, ?, ?, 64, 64, 'basic', 'draft', 0, '', ?, ?)",
                [(i, f"{i:064x}", f"x/{i}.png", now, now) for i in range(1, n + 1)])
        rows = [{"id": i, "vector": np.full(112, 1 / np.sqrt(112), np.float32), "hashes": [0], "status": "draft",
                 "rating": 0, "tags": []} for i in range(1, n + 1)]
        index = finder.index(lib)
        for start in range(0, n, 20_000):
            index.table.add([{**r, "model": MODEL, "tags": "||"} for r in rows[start:start + 20_000]])
        start = time.perf_counter()
        in_sync = finder.reconcile(lib, build_index=False)  # the window builds the ANN index as its own job
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        with lib.engine.connect() as conn:
            list(conn.exec_driver_sql("SELECT id FROM pattern").scalars())
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        built = index.ensure_ann()
        build_s = time.perf_counter() - start
    return {"patterns": n, "reconcile_s": round(seconds, 3), "select_all_ids_s": round(baseline, 3),
            "ratio": round(seconds / baseline, 2), "changes": {k: len(v) for k, v in in_sync.items()},
            "ann_index_built": built, "ann_index_build_s": round(build_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--patterns", type=int, default=100_000)
    parser.add_argument("--no-clip", action="store_true", help="skip the import with CLIP ViT-B-32 attached")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = make_files(Path(folder), args.files)
        result = {"benchmark": "library", "import": import_rate(paths)}
        if not args.no_clip:  # the studio's configuration: ViT-B-32 (random weights: the same compute)
            from desktop.library.clip import ClipEmbedder

            result["import_with_clip"] = import_rate(paths, ClipEmbedder("ViT-B-32"))
        result.update({"reconcile": reconcile_time(args.patterns),
                  "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform()}})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
