"""The atheris fuzz harness over what reads untrusted files: image decoding (`decode_rgb`, the
importer's; `open_image`, QA's and the window's), the text chunks a library reads before any pixel
(`png_text`, `read_chunks`) and A1111's parameters (`parse_a1111`). Not part of `make test`: see
tests/soak/README.md.

    pip install atheris   # (the `fuzz` extra)
    python tests/soak/fuzz_images.py -runs=200000 -rss_limit_mb=2048 -max_len=65536 [corpus/]

What counts as a finding: any exception other than the one clear error each reader promises
(ImageReadError, a UserError; OversizedText), a crash, a hang (-timeout), or more memory than the
limit. The seed corpus is made here: small PNGs (plain, palette, 16-bit, with Tessera's and
A1111's text, compressed text), a JPEG, a WebP and a TIFF, plus any files in the folders named.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import zlib
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports():
    from desktop.engine.images import decode_rgb, open_image
    from desktop.errors import UserError
    from desktop.library.metadata_chunks import OversizedText, parse_a1111, png_text, read_chunks


def _seeds(folder: Path) -> None:
    import numpy as np
    from PIL import Image, PngImagePlugin

    rng = np.random.default_rng(0)
    rgb = Image.fromarray((rng.random((17, 23, 3)) * 255).astype(np.uint8))
    info = PngImagePlugin.PngInfo()
    info.add_text("tessera", json.dumps({"style": "toss", "repeat": "half-drop", "seed": 7}))
    info.add_text("parameters", "linen, woven\nNegative prompt: text\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
                                "Seed: 5, Size: 512x512, Model hash: abc123, Lora hashes: \"deco: 0123\"")
    info.add_itxt("comment", "ünïcode", zip=True)
    rgb.save(folder / "text.png", pnginfo=info)
    rgb.convert("P").save(folder / "palette.png")
    Image.fromarray((rng.random((9, 9)) * 65535).astype(np.uint16)).save(folder / "deep.png")
    rgb.save(folder / "photo.jpg", quality=80)
    rgb.save(folder / "lossless.webp", lossless=True)
    rgb.save(folder / "scan.tif")
    (folder / "ztxt.png").write_bytes(_with_chunk((folder / "text.png").read_bytes(), b"zTXt",
                                                  b"big\x00\x00" + zlib.compress(b"x" * 4096)))


def _with_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    chunk = len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    return png[:33] + chunk + png[33:]  # after IHDR


def one_input(data: bytes) -> None:
    with contextlib.suppress(UserError):
        decode_rgb(data, "fuzz")
    with contextlib.suppress(UserError):
        open_image(io.BytesIO(data), "fuzz")
    with contextlib.suppress(OversizedText):
        png_text(b"\x89PNG\r\n\x1a\n" + data[8:] if len(data) > 8 else data)
    with contextlib.suppress(OversizedText):
        read_chunks(None, data)
    parse_a1111(data.decode("utf-8", "replace"))


def main() -> None:
    argv = list(sys.argv)
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if not corpus:
        seeds = Path(tempfile.mkdtemp(prefix="tessera-fuzz-"))
        _seeds(seeds)
        argv.append(str(seeds))
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
