"""Generation facts read back from image files: Tessera's JSON chunk and A1111's `parameters`."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

from desktop.engine.diffusion.metadata import scheduler_key
from desktop.engine.images import PNG_SIGNATURE

_KV = re.compile(r"\s*([\w ]+):\s*(\"[^\"]*\"|[^,]+)(?:,|$)")


def parse_a1111(text: str) -> dict[str, Any]:
    """A1111's `parameters` text: prompt, 'Negative prompt:' line, then 'Key: value, ...' settings."""
    lines = text.strip().splitlines()
    if not lines:
        return {}
    settings_line = lines[-1] if re.match(r"^\s*Steps:", lines[-1]) else ""
    body = lines[:-1] if settings_line else lines
    prompt, negative, in_negative = [], [], False
    for line in body:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    out: dict[str, Any] = {"prompt": "\n".join(prompt).strip(), "negative_prompt": "\n".join(negative).strip()}
    settings = {k.strip(): v.strip().strip('"') for k, v in _KV.findall(settings_line)}
    out["settings"] = settings
    for key, name, kind in (("Steps", "steps", int), ("Seed", "seed", int), ("CFG scale", "cfg", float)):
        with contextlib.suppress(KeyError, ValueError):
            out[name] = kind(settings[key])
    out["scheduler"] = scheduler_key(settings.get("Sampler", ""))  # euler-a for "Euler a"
    out["model"] = settings.get("Model", "")
    out["model_hash"] = settings.get("Model hash", "")
    if settings.get("Size") and "x" in settings["Size"]:
        w, h = settings["Size"].split("x", 1)
        digits = re.compile(r"[0-9]{1,6}")  # (str.isdigit takes "³", which int() refuses: found by fuzzing)
        out["size"] = [int(w), int(h)] if digits.fullmatch(w.strip()) and digits.fullmatch(h.strip()) else None
    if settings.get("Tiling", "").lower() == "true":
        out["repeat"] = "basic"
    return out


_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
# Pillow's own limits (PngImagePlugin.MAX_TEXT_CHUNK and MAX_TEXT_MEMORY): a file past them is one
# Pillow refuses to open, so export and mockups could not read it either
MAX_TEXT_CHUNK = 1 << 20  # one compressed text chunk inflates to at most 1 MiB
MAX_TEXT_MEMORY = 64 << 20  # all of a file's text together


class OversizedText(ValueError):
    """A PNG text chunk that inflates past the limits: a decompression bomb, or a file the app could not
    open again. Raised, not skipped: such a file is refused with this reason."""


def _inflate(data: bytes, key: str, room: int) -> bytes:
    import zlib

    inflater = zlib.decompressobj()
    text = inflater.decompress(data, min(room, MAX_TEXT_CHUNK) + 1)  # never more than the limit, and one byte
    if len(text) > min(room, MAX_TEXT_CHUNK):
        raise OversizedText(f"its text chunk '{key[:40]}' inflates past {MAX_TEXT_CHUNK >> 20} MiB "
                            "(a decompression bomb, or text no image reader will load)")
    return text


def _text_of(kind: bytes, body: bytes, room: int) -> tuple[str, str]:
    key, _, rest = body.partition(b"\0")
    name = key.decode("latin-1")
    if kind == b"tEXt":
        return name, rest.decode("latin-1")
    if kind == b"zTXt":
        return name, _inflate(rest[1:], name, room).decode("latin-1")
    compressed, rest = rest[0], rest[2:]
    _lang, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return name, (_inflate(text, name, room) if compressed else text).decode("utf-8")


def png_text(data: bytes) -> dict[str, str]:
    """A PNG's tEXt, zTXt and iTXt chunks, wherever they sit, without decoding a pixel. Each compressed
    chunk inflates to at most MAX_TEXT_CHUNK and the whole text to MAX_TEXT_MEMORY, as Pillow allows:
    past that, OversizedText."""
    import struct
    import zlib

    out: dict[str, str] = {}
    used = 0
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        start, pos = pos + 8, pos + 12 + length
        if start + length > len(data) or kind == b"IEND":
            break
        if kind not in _TEXT_CHUNKS:  # the pixels (IDAT) are stepped over, not copied
            continue
        try:
            key, value = _text_of(kind, data[start:start + length], MAX_TEXT_MEMORY - used)
        except (zlib.error, UnicodeDecodeError, IndexError):
            continue  # one damaged chunk does not hide the others
        used += len(value)
        if used > MAX_TEXT_MEMORY:
            raise OversizedText(f"its text chunks hold more than {MAX_TEXT_MEMORY >> 20} MiB")
        out[key] = value
    return out


def png_text_of_file(path) -> dict[str, str]:
    """png_text of a file on disk, reading only its text chunks (the pixels are sought over, not read)."""
    import struct

    parts = [PNG_SIGNATURE]
    with open(path, "rb") as fh:
        if fh.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return {}
        while True:
            head = fh.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I4s", head)
            if kind in _TEXT_CHUNKS:
                if length > MAX_TEXT_MEMORY:
                    raise OversizedText(f"it has a text chunk of {length >> 20} MiB")
                parts += [head, fh.read(length), fh.read(4)]
            else:
                fh.seek(length + 4, 1)
            if kind == b"IEND":
                break
    return png_text(b"".join(parts))


def read_chunks(path, data: bytes | None = None) -> dict[str, Any]:
    """{'tessera': {...}, 'a1111': {...}} for whatever the file carries (`data`: its bytes, if read)."""
    from PIL import Image

    from desktop.engine.images import TESSERA_KEY

    out: dict[str, Any] = {}
    try:
        if data is None:
            with open(path, "rb") as fh:
                data = fh.read()
        if data.startswith(PNG_SIGNATURE):
            text = png_text(data)  # (OversizedText goes up: the file is refused for it)
        else:
            try:
                with Image.open(io.BytesIO(data)) as img:  # the bytes already read: no second read of the file
                    text = dict(getattr(img, "text", {}) or {})
            except (ValueError, SyntaxError, Image.DecompressionBombError):
                return out  # no image Pillow will open (its header claims 17 gigapixels, say): no metadata
    except OSError:
        return out
    if text.get(TESSERA_KEY):
        import json

        with contextlib.suppress(ValueError):
            out["tessera"] = json.loads(text[TESSERA_KEY])
    if text.get("parameters"):
        out["a1111"] = parse_a1111(text["parameters"])
    return out
