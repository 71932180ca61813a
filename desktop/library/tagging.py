"""Auto-tags: colour names from the tile's main colours (always), and CLIP zero-shot over the
textile vocabulary in resources/tags/ (when CLIP weights are available)."""

from __future__ import annotations

import contextlib
import json
import threading
import weakref
from functools import lru_cache

import numpy as np

from desktop.resources import resources_dir


@lru_cache(maxsize=1)
def vocabulary() -> dict:
    return json.loads((resources_dir() / "tags" / "vocabulary.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def colour_names() -> dict[str, str]:
    return json.loads((resources_dir() / "tags" / "colours.json").read_text(encoding="utf-8"))["colours"]


@lru_cache(maxsize=1)
def _named_lab() -> tuple[list[str], np.ndarray]:
    from desktop.engine.qa.colour import srgb_to_lab
    from desktop.palettes import parse_hex

    names = list(colour_names())
    return names, srgb_to_lab(np.array([parse_hex(colour_names()[n]) for n in names], np.float32) / 255.0)


LEVELS = 32  # sRGB levels per channel of the colour-name table (cells of 8: at most 4 off per channel)
_LUT_LOCK = threading.Lock()


def _compute_name_lut() -> np.ndarray:
    """(LEVELS, LEVELS, LEVELS) uint8: for each cell of quantised sRGB, the named colour nearest its
    centre by CIEDE2000 (32,768 cells x the table: about 0.7 s on one core)."""
    from desktop.engine.qa.colour import nearest_delta_e, srgb_to_lab

    centres = (np.arange(LEVELS) + 0.5) / LEVELS
    grid = np.stack(np.meshgrid(centres, centres, centres, indexing="ij"), -1).reshape(-1, 3).astype(np.float32)
    lab = srgb_to_lab(grid)
    _, table = _named_lab()
    nearest = np.concatenate([nearest_delta_e(lab[i:i + 4096], table)[1] for i in range(0, len(lab), 4096)])
    return nearest.astype(np.uint8).reshape(LEVELS, LEVELS, LEVELS)


def _name_lut(cache_dir=None) -> np.ndarray:
    """The colour-name table, made once per machine: kept in the cache folder under the digest of
    the named colours (a changed colours.json makes a new one; an unreadable one is made again)."""
    import hashlib
    import io

    from desktop.config import atomic_write_bytes, resolve_paths

    with _LUT_LOCK:
        if _LUT:
            return _LUT[0]
        source = (resources_dir() / "tags" / "colours.json").read_bytes()
        digest = hashlib.sha256(source + f"levels={LEVELS};ciede2000".encode()).hexdigest()[:16]
        path = (cache_dir or resolve_paths().cache_dir) / "colour-names" / f"{digest}.npy"
        lut = None
        try:
            lut = np.load(path, allow_pickle=False)
            if lut.shape != (LEVELS,) * 3 or lut.dtype != np.uint8 or int(lut.max()) >= len(colour_names()):
                lut = None
        except (OSError, ValueError):
            pass
        if lut is None:
            lut = _compute_name_lut()
            buffer = io.BytesIO()
            np.save(buffer, lut, allow_pickle=False)
            with contextlib.suppress(OSError):  # a cache: lost, it is made again
                atomic_write_bytes(path, buffer.getvalue(), durable=False)
        _LUT.append(lut)
        return lut


_LUT: list[np.ndarray] = []  # the table once loaded in this process


def colour_tags_many(quarters: np.ndarray, min_share: float = 0.12) -> list[list[tuple[str, float]]]:
    """`colour_tags` of each tile of a stack of 32x32 uint8 copies (descriptor.shrink), together."""
    n = len(quarters)
    cells = quarters.reshape(n, -1, 3) // (256 // LEVELS)
    named = _name_lut()[cells[..., 0], cells[..., 1], cells[..., 2]].astype(np.intp)
    names = list(colour_names())
    counts = np.bincount((named + (np.arange(n) * len(names))[:, None]).ravel(), minlength=n * len(names))
    shares = counts.reshape(n, len(names)) / named.shape[1]
    return [sorted(((names[i], round(float(row[i]), 3)) for i in np.flatnonzero(row >= min_share)), key=lambda t: -t[1])
            for row in shares]


def colour_tags(rgb: np.ndarray, min_share: float = 0.12) -> list[tuple[str, float]]:
    """Names of the tile's main colours with the share of it each covers: every pixel of a 32x32
    copy named (the named colour nearest it by CIEDE2000, through `_name_lut`), the shares
    counted, those of at least `min_share` kept, largest first."""
    from desktop.library.descriptor import COLOUR_SIDE, shrink, small_copies

    return colour_tags_many(shrink(small_copies([rgb]), COLOUR_SIDE), min_share)[0]


def vocabulary_terms() -> list[str]:
    v = vocabulary()
    return [*v["styles"], *v["motifs"], *v["moods"]]


_VOCABULARY_VECTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # embedder -> (prompts, vectors)


def _vocabulary_vectors(embedder, prompts: tuple[str, ...]) -> np.ndarray:
    """The vocabulary's text embeddings, made once per embedder (every batch of an import asks;
    ViT-B-32 takes about half a second for them on a CPU)."""
    cached = _VOCABULARY_VECTORS.get(embedder)
    if cached is None or cached[0] != prompts:
        cached = _VOCABULARY_VECTORS[embedder] = (prompts, embedder.embed_texts(list(prompts)))
    return cached[1]


def clip_tags(embedder, image_vectors: np.ndarray, top: int = 5, min_confidence: float = 0.05
              ) -> list[list[tuple[str, float]]]:
    """CLIP zero-shot: softmax over 'a seamless {term} pattern' for every vocabulary term."""
    terms = vocabulary_terms()
    text = _vocabulary_vectors(embedder, tuple(vocabulary()["prompt"].format(t) for t in terms))
    logits = 100.0 * image_vectors @ text.T
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    out = []
    for row in probs:
        order = np.argsort(-row)[:top]
        out.append([(terms[i].lower(), round(float(row[i]), 3)) for i in order if row[i] >= min_confidence])
    return out
