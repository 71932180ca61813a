"""What an import reads of each file, off the writer's thread: the files a walk of the folders
finds (and those it leaves alone, and why), each file's bytes, digest, decoded pixels and metadata,
and the header's pixel count that keeps a large scan to itself."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from desktop.engine.images import IMAGE_SUFFIXES
from desktop.library.metadata_chunks import OversizedText, read_chunks

IMPORTABLE = IMAGE_SUFFIXES


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def opencv_on_one_thread():
    """OpenCV's own worker threads off while an import runs a file per core: on small images its
    threads spin more than they work (measured: the look cost 3.0 ms of CPU with two, 1.9 with
    one, and the import 1 ms less CPU per file). The setting is process-wide; the old value is
    put back afterwards."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def read_and_decode(path: Path, prepare=None, known=None, store=None, keep_pixels: bool = True) -> dict[str, Any]:
    """A file's bytes, digest, decoded RGB (the decode proves it whole) and generation metadata
    (Tessera's and A1111's chunks), or {'error': why};
    with `prepare`, also prepare(rgb) (and, with keep_pixels=False, the pixels dropped once it is
    made: 'pixels' None). With `known(digest)` (the id of a pattern already holding
    these bytes, or None), an exact copy is reported as {'duplicate_of': id} without decoding.
    With `store` (Library._store), a whole file is also written to the content-addressed store
    ('stored', and 'created' when this call wrote it); a failing store raises LibraryError."""
    import logging

    from desktop.engine.images import ImageReadError, decode_rgb
    if path.suffix.lower() not in IMPORTABLE:
        return {"error": not_importable(path)}
    try:
        data = path.read_bytes()
        digest = sha256_bytes(data)
        existing = known(digest) if known is not None else None
        if existing is not None:
            return {"digest": digest, "duplicate_of": existing}
        metadata = read_chunks(path, data)  # first: its text is bounded, a bomb is refused before any decode
        pixels, width, height = decode_rgb(data, path.name)
    except OversizedText as exc:
        return {"error": f"refused: {exc}"}
    except (ImageReadError, OSError) as exc:
        return {"error": str(exc)}
    made = next((NOT_TILES[key] for key in NOT_TILES if key in metadata.get("tessera", {})), None)
    if made:
        return {"digest": digest, "not_a_tile": made}
    prepared = None
    if prepare is not None:
        try:
            prepared = prepare(pixels)
            if not keep_pixels:
                pixels = None
        except Exception:  # the embedder makes it again from the stored file, and reports there
            logging.getLogger(__name__).exception("preparing %s for the index", path)
    if width * height > KEEP_PIXELS_UP_TO:  # a large scan's pixels are not held on: read back when needed
        pixels = None
    read = {"data": data, "digest": digest, "width": width, "height": height,
            "pixels": pixels, "prepared": prepared, "metadata": metadata}
    if store is not None:
        read["stored"], read["created"] = store(data, digest, path.suffix.lower())
    return read


KEEP_PIXELS_UP_TO = 16 * 1024 * 1024  # decoded pixels an import keeps for the embedder (a larger scan's are dropped)


def header_pixels(path: Path) -> int:
    """How many pixels a file says it holds, from its header alone (0 where it says nothing
    readable: the decode then says why)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.width) * int(img.height)
    except Exception:
        return 0


# what Tessera writes that shows tiles but is not one (its PNG chunk says so): never imported
NOT_TILES = {"mockup": "a product mockup Tessera made, not a tile", "sheet": "a presentation sheet Tessera made, not a tile",
             "swatch": "a 3x3 swatch Tessera exported, not a tile"}


def item_of(path: Path, read: dict[str, Any]) -> dict[str, Any]:
    """What add_many stores for a file read by read_and_decode."""
    return {"data": read["data"], "suffix": path.suffix.lower(), "width": read["width"], "height": read["height"],
            "metadata": read["metadata"], "source": str(path), "title": "",
            "pixels": read["pixels"], "prepared": read.get("prepared"), "digest": read["digest"],
            "stored": read.get("stored"), "created": read.get("created", False)}


def walk(paths: Iterable[str | Path]):
    """(file, how): every file given by name ("named"), and every file under the folders given
    ("found"), or the reason one found is left alone: hidden (a name starting with a dot, or under
    such a folder), or a link leading out of the folder imported (never followed: a link named
    tile.png could be any file on the machine). Links to folders are not walked into."""
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_dir():
            yield path, "named"
            continue
        top = path.resolve()
        for folder, dirs, names in os.walk(path):  # links to folders are not followed
            dirs.sort()
            here = Path(folder)
            for name in sorted(names):
                file = here / name
                parts = file.relative_to(path).parts
                if any(part.startswith(".") for part in parts):
                    yield file, "hidden file (its name starts with a dot)"
                elif file.is_symlink() and not file.resolve().is_relative_to(top):
                    yield file, "a link to a file outside the folder imported (not followed)"
                elif file.is_file():
                    yield file, "found"


# the first bytes of the image formats import reads (what a copy into quarantine must start with)
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"II*\0", b"MM\0*", b"BM", b"\0\0\0\x0cjP",
                b"\xffO\xffQ")


def looks_like_an_image(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return head.startswith(_IMAGE_MAGIC) or head[4:12] in (b"ftypavif", b"ftypheic", b"ftypmif1")


def not_importable(path: Path) -> str:
    return (f"{path.suffix or 'no extension'}: not an importable image type "
            f"({', '.join(sorted(IMPORTABLE))})")
