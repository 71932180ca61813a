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
        out["size"] = [int(w), int(h)] if w.isdigit() and h.isdigit() else None
    if settings.get("Tiling", "").lower() == "true":
        out["repeat"] = "basic"
    return out


_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def png_text(data: bytes) -> dict[str, str]:
    """A PNG's tEXt, zTXt and iTXt chunks, wherever they sit, without decoding a pixel."""
    import struct
    import zlib

    out: dict[str, str] = {}
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        start, pos = pos + 8, pos + 12 + length
        if start + length > len(data) or kind == b"IEND":
            break
        if kind not in _TEXT_CHUNKS:  # the pixels (IDAT) are stepped over, not copied
            continue
        body = data[start:start + length]
        try:
            if kind == b"tEXt":
                key, _, value = body.partition(b"\0")
                out[key.decode("latin-1")] = value.decode("latin-1")
            elif kind == b"zTXt":
                key, _, rest = body.partition(b"\0")
                out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                key, _, rest = body.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _translated, _, text = rest.partition(b"\0")
                out[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode("utf-8")
        except (zlib.error, UnicodeDecodeError, IndexError):
            continue  # one damaged chunk does not hide the others
    return out


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
            text = png_text(data)
        else:
            with Image.open(io.BytesIO(data)) as img:  # the bytes already read: no second read of the file
                text = dict(getattr(img, "text", {}) or {})
    except OSError:
        return out
    if text.get(TESSERA_KEY):
        import json

        with contextlib.suppress(ValueError):
            out["tessera"] = json.loads(text[TESSERA_KEY])
    if text.get("parameters"):
        out["a1111"] = parse_a1111(text["parameters"])
    return out
