"""What the command families share: output as text or --json, images in and out, the library's
folder, and running a job as the window does (progress on stderr, Ctrl-C cancels)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from desktop.errors import UserError


def emitter(args: argparse.Namespace) -> Callable[[Any, str], None]:
    """How a command reports: the payload as JSON with --json, else the text."""
    def emit(payload: Any, text: str) -> None:
        print(json.dumps(payload, indent=2, sort_keys=True, default=str) if args.json else text)
    return emit


def load_image(path: str, to_judge: bool = False) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    """A tile for a command: its pixels, facts and Tessera metadata. Its size is read from the header
    first, so a file over the limit is refused before a byte of it is decoded. The limit is one
    rule: what a command makes a tile from is at most MAX_TILE_SIDE a side (what Tessera makes);
    what it only judges (`to_judge`: QA) is whatever the library imports (images.MAX_PIXELS)."""
    from desktop.engine.images import MAX_PIXELS, image_size, load_rgb_with_info, read_metadata
    from desktop.repeat import MAX_TILE_SIDE

    width, height = image_size(path)
    if to_judge and width * height > MAX_PIXELS:
        raise UserError(f"{Path(path).name} is {width}x{height}: too many pixels to open safely "
                        f"(limit {MAX_PIXELS:,}, what the library imports)")
    if not to_judge and (width > MAX_TILE_SIDE or height > MAX_TILE_SIDE):
        raise UserError(f"{Path(path).name} is {width}x{height}, over the {MAX_TILE_SIDE} px limit per side of a tile")
    image, info = load_rgb_with_info(path)
    meta = read_metadata(path) if info.get("format") == "PNG" else {}
    return image, info, meta


def write_png(path: Path, image: np.ndarray, meta: dict[str, Any] | None = None) -> str:
    from desktop.engine.images import save_png

    try:
        save_png(path, image, meta)
    except OSError as exc:
        raise UserError(f"could not write {path}: {exc.strerror or exc}") from None
    return str(path)


def outputs(parser: argparse.ArgumentParser, source: str, made: str, sheet: str) -> None:
    """Where tiles made from one IMAGE go: a folder, the library (naming it as their parent), a
    collection, a presentation sheet."""
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--to-library", action="store_true",
                        help=f"also store them in the library, each naming the {source} as its parent")
    parser.add_argument("--collection", metavar="NAME", help=f"with --to-library: put the {source} and its {made} "
                        "in this collection (made if missing)")
    parser.add_argument("--sheet", metavar="PNG", help=f"also write a presentation sheet: {sheet}")


def library_root(args: argparse.Namespace) -> Path:
    from desktop.config import library_dir, load_settings, resolve_paths

    if getattr(args, "library", None):
        return Path(args.library).expanduser()
    paths = resolve_paths()
    return library_dir(paths, load_settings(paths.settings_file))


def run_as_job(kind: str, request, args: argparse.Namespace, fn=None,
                cancelled: str = "cancelled; files already finished were kept"):
    """Run `fn(request, ctx)` (default: generate) through the JobQueue, as the window does, with
    its progress on stderr; Ctrl-C cancels cleanly and says `cancelled`."""
    from desktop.jobs import JobQueue, JobState

    if fn is None:
        from desktop.engine.generate import run_generate as fn
    queue = JobQueue(io_workers=1)
    job = queue.submit(kind, lambda ctx: fn(request, ctx), request, title=kind)
    show = sys.stderr.isatty() and not args.json
    previous = signal.getsignal(signal.SIGINT)

    def interrupt(signum, frame):
        queue.cancel(job)

    signal.signal(signal.SIGINT, interrupt)
    try:
        while not job.wait(0.2):
            if show:
                p = job.snapshot().progress
                if p.fraction is not None:
                    eta = f", {p.eta_s:.0f}s left" if p.eta_s else ""
                    print(f"\r{p.message}: {p.fraction:4.0%}{eta}   ", end="", file=sys.stderr, flush=True)
        if show:
            print(file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)
        queue.shutdown(timeout=1.0)
    if job.state is JobState.CANCELLED:
        raise UserError(cancelled)
    if job.state is JobState.FAILED:
        raise job.exception or RuntimeError(job.error or "failed")
    return job.result

