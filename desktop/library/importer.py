"""Importing files and folders into a Library: the pipeline that reads, decodes and stores ahead on
worker threads while the caller's thread commits rows a batch at a time, and the quarantine for what
cannot be imported (each file's own reading is in importing.py)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from desktop.config import atomic_write_bytes
from desktop.library.changeset import ChangeSet
from desktop.library.importing import (
    IMPORTABLE,
    header_pixels,
    item_of,
    looks_like_an_image,
    not_importable,
    opencv_on_one_thread,
    read_and_decode,
    walk,
)


def import_paths(lib, paths: Iterable[str | Path], ctx=None, after_batch=None, batch: int = 16,
                 prepare=None, keep_pixels: bool = True) -> ChangeSet:
    """Import files and folders (recursively). Bad files are quarantined with a reason; a
    folder's files that are not of an image type (a README, a .psd, a sidecar) are listed as
    ignored and left alone, while a file named on its own is always read or quarantined.

    Files are read, decoded and written to the content-addressed store ahead on worker
    threads (the decoders release the interpreter lock; the files are not waited for on disk
    one by one, add_many syncs each batch at once before its commit) while this thread
    commits their rows, `batch` files to a transaction (a crash loses at most the batch being stored, whose
    source files stay where they were; a cancel or an error removes the files written ahead
    for rows never committed); `prepare(rgb)`, when given, also runs on those threads (the
    embedder's per-image work) and its result waits with the pixels (or alone, with
    keep_pixels=False: what an embedder without CLIP needs, and far less memory to go
    through); `after_batch()` runs
    after every stored batch (the embedder, so indexing overlaps decoding instead of
    following it).
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    changes = ChangeSet()
    files = []
    for path, how in walk(paths):
        named = how == "named"
        if named and not path.exists():  # gone since it was chosen (or never there): nothing to keep
            changes.missing.append({"source": str(path), "reason": "no such file or folder"})
        elif how not in ("named", "found"):
            changes.ignored.append({"source": str(path), "reason": how,
                                    "left_alone": "hidden" if how.startswith("hidden") else "link"})
        elif named or path.suffix.lower() in IMPORTABLE:
            files.append(path)
        else:
            changes.ignored.append({"source": str(path), "reason": not_importable(path)})
    queue: deque = deque()
    upcoming = iter(files)
    following: list[Path] = []  # a file looked at but left for later (the pixel budget was full)
    pending: list[dict[str, Any]] = []

    def store() -> None:
        if pending:
            changes.merge(lib.add_many(pending))
            pending.clear()
            if after_batch is not None:
                after_batch()

    def store_ahead(data: bytes, digest: str, suffix: str) -> tuple[str, bool]:
        return lib._store(data, digest, suffix, durable=False)  # add_many syncs each batch at once

    with opencv_on_one_thread(), lib._digest_lookup() as known, \
            ThreadPoolExecutor(max_workers=lib.IMPORT_THREADS, thread_name_prefix="tessera-decode") as pool:
        def top_up() -> None:
            # read ahead at most IMPORT_AHEAD files and IMPORT_PIXELS_AHEAD decoded pixels (by their
            # headers): a large scan is read alone, so four of them cost what one does
            while len(queue) < lib.IMPORT_AHEAD:
                path = following.pop() if following else next(upcoming, None)
                if path is None:
                    return
                pixels = header_pixels(path)
                if queue and sum(px for _, px, _ in queue) + pixels > lib.IMPORT_PIXELS_AHEAD:
                    following.append(path)
                    return
                queue.append((path, pixels, pool.submit(read_and_decode, path, prepare, known,
                                                        store_ahead, keep_pixels)))

        try:
            top_up()
            done = 0
            while queue:
                path, _, future = queue[0]
                if ctx is not None:
                    ctx.progress(done, len(files), f"Importing {path.name}")
                read = future.result()
                queue.popleft()
                top_up()
                if "error" in read:
                    changes.merge(quarantine(lib, path, read["error"]))
                elif "not_a_tile" in read:
                    changes.ignored.append({"source": str(path), "reason": read["not_a_tile"],
                                            "made_by_tessera": True})
                elif "duplicate_of" in read:
                    changes.skipped.append({"source": str(path), "duplicate_of": read["duplicate_of"],
                                            "sha256": read["digest"]})
                else:
                    pending.append(item_of(path, read))
                done += 1
                if len(pending) >= batch:
                    store()
            store()
            lib._restore_skipped(changes)
        except BaseException:
            for _, _, future in queue:
                future.cancel()
            ahead = [f.result() for _, _, f in queue if not f.cancelled() and f.exception() is None]
            lib._discard_uncommitted((r["stored"], r["digest"]) for r in [*pending, *ahead] if r.get("created"))
            raise
    if ctx is not None:
        ctx.progress(len(files), len(files), "Imported")
    return changes


def import_read(lib, path: Path, read: dict[str, Any]) -> ChangeSet:
    if "error" in read:
        return quarantine(lib, path, read["error"])
    if "not_a_tile" in read:
        return ChangeSet(ignored=[{"source": str(path), "reason": read["not_a_tile"], "made_by_tessera": True}])
    return lib.add_many([item_of(path, read)])


def quarantine(lib, path: Path, reason: str) -> ChangeSet:
    """Copy (never move: the user's file stays where it was) into quarantine/, with the reason, under a
    name no earlier quarantined file holds. Only an image file is copied (by its first bytes): a
    text file named tile.png, or a link to one, leaves its reason and nothing else."""
    lib.quarantine.mkdir(parents=True, exist_ok=True)
    target = free_path(lib.quarantine / path.name)
    with contextlib.suppress(OSError):
        if path.is_file() and not path.is_symlink() and looks_like_an_image(path):
            shutil.copy2(path, target)
        atomic_write_bytes(target.with_name(target.name + ".reason.txt"), (reason + "\n").encode())
    return ChangeSet(quarantined=[{"source": str(path), "reason": reason}])


def free_path(target: Path) -> Path:
    """`target`, or name-2.ext, name-3.ext …: the first no file (or reason) holds yet."""
    n, candidate = 1, target
    while candidate.exists() or candidate.with_name(candidate.name + ".reason.txt").exists():
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    return candidate
