"""Auto-tags: colour names from the tile's main colours (always), and CLIP zero-shot over the
textile vocabulary in resources/tags/ (when CLIP weights are available)."""

from __future__ import annotations

import json
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


def colour_tags(rgb: np.ndarray, k: int = 5, min_share: float = 0.12) -> list[tuple[str, float]]:
    """Names of the main colours (CIEDE2000 to a named-colour table), with their pixel shares."""
    import cv2

    from desktop.engine.qa.colour import nearest_delta_e, srgb_to_lab
    from desktop.library.descriptor import small_copy
    from desktop.palettes import extract_palette

    small = cv2.resize(small_copy(rgb), (32, 32), interpolation=cv2.INTER_AREA)  # 1,024 colours: shares to 0.1 %
    major = extract_palette(small, k=k, sample=1024, attempts=1)
    names, table = _named_lab()
    _, idx = nearest_delta_e(srgb_to_lab(major.array()), table)
    shares: dict[str, float] = {}
    for i, share in zip(idx, major.weights):
        shares[names[int(i)]] = shares.get(names[int(i)], 0.0) + float(share)
    return sorted(((n, round(s, 3)) for n, s in shares.items() if s >= min_share), key=lambda t: -t[1])


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
