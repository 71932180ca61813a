"""A sync of the publishing queue with mockups: the next listing's file is read and its mockups
rendered while the current one uploads. Measured in the same run against the serial sum it
replaces: every listing prepared one after another (`publishing._prepare`, what the sync did
before each upload) plus every upload one after another.

The upload is a marketplace stand-in that sleeps `--upload-s` a listing (the network: about a
megabyte of PNG and JPEG parts on a slow studio uplink) and answers as the real one does, so
the figure is the overlap, not a loopback socket's speed. Tiles are the shared seamless textures
(a 512 px crop each) where ../shared is present, else random noise of that size.

    .venv/bin/python benchmarks/publishing.py [--patterns 6] [--upload-s 1.5] [--mockups wall swatch] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine, texture_crops  # noqa: E402

from desktop.library import Library, publishing  # noqa: E402
from desktop.library.marketplace import Account, Marketplace  # noqa: E402


class SlowUplink(Marketplace):
    """Each publish takes `seconds`, as a real upload would, and lists the pattern."""

    def __init__(self, seconds: float):
        super().__init__(Account("https://market.invalid", "token"), retries=0, backoff=0)
        self.seconds, self.sent = seconds, 0

    def publish(self, image, filename, metadata, key, files=None):
        time.sleep(self.seconds)
        self.sent += 1
        return {"id": key, "url": f"https://market.invalid/{key}"}


def unlist(lib: Library, ids: list[int]) -> None:
    """As before a sync: approved, and no publication (so the next round lists them again)."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from desktop.library.models import Publication

    with Session(lib.engine) as session, session.begin():
        session.execute(delete(Publication))
    for pid in ids:
        lib.update(pid, status="approved")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patterns", type=int, default=6)
    parser.add_argument("--upload-s", type=float, default=1.5)
    parser.add_argument("--mockups", nargs="+", default=["wall", "swatch"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "lib") as lib:
        ids = []
        made, described = texture_crops(args.patterns)
        for k, rgb in enumerate(made):
            pid = lib.add_tile(rgb, {"style": "texture", "seed": k, "repeat": "half-drop" if k % 2 else "basic"}).added[0]
            lib.update(pid, status="approved")
            ids.append(pid)
        items = [lib.get(pid) for pid in ids]
        publishing._prepare(items[0], args.mockups, 150, lambda: None)  # warm: imports, scene caches
        market = SlowUplink(args.upload_s)
        prepares, uploads, syncs = [], [], []
        for _ in range(args.rounds):  # alternated, so a busy spell of the machine falls on both
            start = time.perf_counter()
            for item in items:
                publishing._prepare(item, args.mockups, 150, lambda: None)
            prepares.append(time.perf_counter() - start)
            start = time.perf_counter()
            for _ in items:
                time.sleep(args.upload_s)
            uploads.append(time.perf_counter() - start)

            unlist(lib, ids)
            publishing.queue(lib, ids)
            start = time.perf_counter()
            result = publishing.sync(lib, market, mockups=args.mockups)
            syncs.append(time.perf_counter() - start)
            assert len(result["published"]) == len(ids), result
        prepare_s, upload_s, sync_s = (statistics.median(x) for x in (prepares, uploads, syncs))

    serial = prepare_s + upload_s
    print(json.dumps({
        "benchmark": "publishing",
        "machine": machine(),
        "patterns": len(ids), "mockups": args.mockups, "upload_s_each": args.upload_s,
        "tiles": described,
        "rounds": args.rounds, "figures": "medians over the rounds",
        "prepare_s_each": round(prepare_s / len(ids), 3),
        "sync_s_rounds": [round(x, 2) for x in syncs], "serial_s_rounds": [round(a + b, 2) for a, b in zip(prepares, uploads)],
        "serial_s": round(serial, 2),
        "sync_s": round(sync_s, 2),
        "sync_over_serial": round(sync_s / serial, 3),
        "best_possible_over_serial": round(max(prepare_s, upload_s) / serial, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
