"""Images in and out, safely.

In: only the formats we support, decompression bombs refused, EXIF orientation applied,
ICC profiles converted to sRGB, and one clear error for anything unreadable.
Out: PNG written atomically, with Tessera's metadata in a text chunk.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

from desktop.config import atomic_write_bytes
from desktop.errors import UserError

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "TIFF", "BMP"}
# One rule for what any reader opens (import, QA, export, the window, a variation's source): a
# 600 DPI scan of a 24 x 20 in fabric (14,400 x 12,000) fits; a 16,000 px square bomb does not.
# What Tessera *makes* is another limit: repeat.MAX_TILE_SIDE a side.
MAX_PIXELS = 200 * 1024 * 1024
# Set once, not per call: images are opened from several threads at a time. PIL refuses files over
# twice the limit itself; open_image refuses those over the limit by their header, before decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# a damaged file's decoder complaints ("Tag data larger than file", "Corrupt EXIF data"): the image
# opens, or open_image says in one sentence why not; the complaints are not the user's to read
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
# and the ones Pillow logs ("More samples per pixel than can be decoded", at ERROR, just before it raises):
# with no handler of their own they reached stderr through logging's last resort in any process that
# had not set up logging (the render process, a script). They still reach the log file where one is set up.
logging.getLogger("PIL").addHandler(logging.NullHandler())
TESSERA_KEY = "tessera"

# The image files Tessera reads (imports, QA): a folder given in their place means these inside it.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"}


def images_under(paths) -> list[str]:
    """The paths given, with each folder replaced by the image files under it (sorted, hidden ones
    left out); a path that is neither is kept, for its reader to explain."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            out += [str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)]
        else:
            out.append(str(raw))
    return out


class ImageReadError(UserError):
    pass


def open_image(path, name: str | None = None, header_only: bool = False) -> Image.Image | None:
    """Open and fully decode an image file (a path, or a binary file object called `name`), or raise
    ImageReadError saying why. `header_only`: read no further than its header (what it is, how
    large) and return None: a quick check of a file a job will read (a damaged body is the job's
    error then)."""
    if isinstance(path, (str, Path)):
        path = Path(path)
        if not path.is_file():
            raise ImageReadError(f"{path}: no such file")
        label = path.name
    else:
        label = name or "image"
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise Image.DecompressionBombError("over the limit")
            if img.format not in ALLOWED_FORMATS:
                raise ImageReadError(f"{label}: {img.format or 'unknown'} images are not supported "
                                     f"(use {', '.join(sorted(ALLOWED_FORMATS))})")
            if header_only:
                return None
            img.load()
            icc = img.info.get("icc_profile")
            fmt = img.format
            img = ImageOps.exif_transpose(img)
            if icc:
                img = _to_srgb(img, icc)
            img.format = fmt  # transposing and converting drop it; describe() wants it
            return img
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(f"{label}: too many pixels to open safely (limit {MAX_PIXELS:,})") from None
    except ImageReadError:
        raise
    except Image.UnidentifiedImageError:  # Pillow's message names only its own buffer
        raise ImageReadError(f"{label}: not a readable image (damaged, or not an image at all)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{label}: not a readable image ({exc})") from None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PLAIN_PNG_TYPES = {0, 2, 6}  # grey, RGB, RGBA: no palette, so nothing for Pillow to resolve
_APPLIED_CHUNKS = {b"iCCP", b"gAMA", b"cHRM", b"eXIf", b"tRNS", b"sBIT"}  # what reading would apply


def _plain_png(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a whole 8-bit grey/RGB/RGBA PNG with no colour profile, gamma, EXIF or
    transparency chunk (what needs no more than decoding), else None. Whole: every chunk's CRC
    holds and it ends in IEND (libpng would otherwise decode what is there, or complain on
    stderr, and Pillow has the clearer word on a damaged file)."""
    if len(data) < 45 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[24] != 8 or data[25] not in _PLAIN_PNG_TYPES or data[28] != 0:  # 8-bit, not interlaced
        return None
    view, pos = memoryview(data), 8
    while pos + 12 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), bytes(data[pos + 4:pos + 8])
        end = pos + 8 + length
        if kind in _APPLIED_CHUNKS or end + 4 > len(data):
            return None
        if zlib.crc32(view[pos + 4:end]) != int.from_bytes(data[end:end + 4], "big"):
            return None
        if kind == b"IEND":
            return (width, height) if end + 4 == len(data) else None
        pos = end + 4
    return None


def decode_rgb(data: bytes, name: str = "image") -> tuple[np.ndarray, int, int]:
    """(HxWx3 uint8 sRGB, width, height) from a file's bytes, as `rgb_of(open_image(...))` gives.

    Plain 8-bit PNGs (the common case: no palette, profile or orientation to apply) are decoded
    by OpenCV, into the array directly and with the interpreter lock released throughout (1.6x
    Pillow's decode plus its copy into numpy, measured); everything else goes through Pillow.
    Raises ImageReadError saying why a file cannot be read.
    """
    size = _plain_png(data)
    if size is not None and size[0] * size[1] <= MAX_PIXELS:
        import cv2

        direct = getattr(cv2, "IMREAD_COLOR_RGB", None)  # OpenCV 4.10+: RGB without a second pass
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR if direct is None else direct)
        if pixels is not None and pixels.shape[:2] == (size[1], size[0]):
            return (cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB) if direct is None else pixels), size[0], size[1]
        # unreadable to OpenCV: Pillow decides, and says why
    img = open_image(io.BytesIO(data), name)
    return rgb_of(img), img.width, img.height


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        if img.mode == "CMYK":
            return ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
        mode = "RGBA" if "A" in img.getbands() else "RGB"
        return ImageCms.profileToProfile(img.convert(mode), src, dst, outputMode=mode)
    except Exception:  # a broken profile: keep the pixels as they are
        return img


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer greyscale scaled (not clipped) down to 8 bits."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray((np.clip(arr / top, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return Image.fromarray((np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
    return img


def describe(img: Image.Image, path: str | Path | None = None) -> dict[str, Any]:
    """Facts QA and import need: format, mode, bits per channel, transparency."""
    bits = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(img.mode, 8)
    if img.info.get("bits"):
        bits = max(bits, int(img.info["bits"]))
    has_alpha = "A" in img.getbands() or "transparency" in img.info
    return {"format": img.format or (Path(path).suffix.lstrip(".").upper() if path else None),
            "mode": img.mode, "bits": bits, "has_alpha": has_alpha, "size": list(img.size)}


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file's header alone, nothing decoded; ImageReadError says why not."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    try:
        with Image.open(path) as img:
            return img.width, img.height
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(f"{path.name}: too many pixels to open safely (limit {MAX_PIXELS:,})") from None
    except Image.UnidentifiedImageError:  # as open_image says it: Pillow's message names only its buffer
        raise ImageReadError(f"{path.name}: not a readable image (damaged, or not an image at all)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path.name}: not a readable image ({exc})") from None


def load_rgb_with_info(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """HxWx3 uint8 sRGB plus `describe()` facts; transparent areas composited over white."""
    img = open_image(path)
    info = describe(img, path)
    img = _to_8bit(img)
    if info["has_alpha"]:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB")), info
    return np.asarray(img.convert("RGB")), info


def load_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8, sRGB (16-bit scaled to 8, CMYK and palettes converted)."""
    return rgb_of(open_image(path))


def rgb_of(img: Image.Image) -> np.ndarray:
    """An opened image (open_image) as load_rgb gives it: HxWx3 uint8 sRGB."""
    return np.asarray(_to_8bit(img).convert("RGB"))


def load_rgba(path: str | Path) -> np.ndarray:
    """HxWx4 uint8, sRGB, with alpha (opaque where the file has none)."""
    return np.asarray(open_image(path).convert("RGBA"))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float 0..1 (or uint8) HxWxC to uint8."""
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_bytes(image: np.ndarray, metadata: dict[str, Any] | None = None, text: dict[str, str] | None = None,
              dpi: int | None = None) -> bytes:
    """Encode a PNG with Tessera's JSON metadata (and any extra text chunks)."""
    info = PngImagePlugin.PngInfo()
    if metadata is not None:
        info.add_itxt(TESSERA_KEY, json.dumps(metadata, sort_keys=True))
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"pnginfo": info}
    if dpi:
        kwargs["dpi"] = (dpi, dpi)
    Image.fromarray(to_uint8(image)).save(buf, format="PNG", **kwargs)
    return buf.getvalue()


def save_png(path: str | Path, image: np.ndarray, metadata: dict[str, Any] | None = None,
             text: dict[str, str] | None = None, dpi: int | None = None) -> Path:
    """Write a PNG atomically: a crash leaves no half-written file."""
    path = Path(path)
    atomic_write_bytes(path, png_bytes(image, metadata, text, dpi))
    return path


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Tessera's JSON metadata from a PNG, or {} if it has none (or is no image Pillow will open)."""
    try:
        with Image.open(path) as img:
            raw = getattr(img, "text", {}).get(TESSERA_KEY)
    except (Image.DecompressionBombError, ValueError, SyntaxError, OSError):
        return {}
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}
