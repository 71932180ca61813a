"""CLIP embeddings through open_clip, for text search and auto-tags, when weights are present.

Weights come from, in order: TESSERA_CLIP_WEIGHTS (a file), `<data>/models/clip/<model>.safetensors`,
or the Hugging Face cache that open_clip itself fills when it downloads (`hf-hub` layout).
Safetensors load directly; a pickle checkpoint from the HF cache loads with
`weights_only=True`. With none of them the library says so plainly and searches by image with
the built-in descriptor instead. open_clip and torch are imported only here.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "ViT-B-32"
HF_REPOS = {"ViT-B-32": "timm/vit_base_patch32_clip_224.openai"}
HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def configured_model() -> str:
    """The CLIP model name: TESSERA_CLIP_MODEL (default ViT-B-32). TESSERA_CLIP_CONFIG may name an
    open_clip model config JSON to register first (a custom or smaller architecture)."""
    config = os.environ.get("TESSERA_CLIP_CONFIG")
    if config:
        import open_clip

        open_clip.add_model_config(config)
    return os.environ.get("TESSERA_CLIP_MODEL", DEFAULT_MODEL)


def load_if_available(data_dir: Path | None = None) -> tuple[ClipEmbedder | None, str]:
    """(embedder, "") when weights are found, else (None, why not). Imports torch only if they are."""
    model = os.environ.get("TESSERA_CLIP_MODEL", DEFAULT_MODEL)
    weights = find_weights(model, data_dir)
    if weights is None:
        return None, unavailable_reason(model, data_dir)
    try:
        return ClipEmbedder(configured_model(), weights), ""
    except Exception as exc:  # a wrong or damaged weights file: say which, and carry on without CLIP
        return None, f"CLIP weights at {weights} could not be loaded ({exc})"


def find_weights(model: str = DEFAULT_MODEL, data_dir: Path | None = None) -> Path | None:
    override = os.environ.get("TESSERA_CLIP_WEIGHTS")
    if override:
        return Path(override) if Path(override).is_file() else None
    if data_dir is not None:
        local = data_dir / "models" / "clip" / f"{model}.safetensors"
        if local.is_file():
            return local
    repo = HF_REPOS.get(model)
    if repo:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return None
        for name in HF_FILES:
            found = try_to_load_from_cache(repo, name)
            if isinstance(found, str) and Path(found).is_file():
                return Path(found)
    return None


def download(model: str = DEFAULT_MODEL, tag: str = "openai") -> Path:
    """Fetch the weights once, when online (Hugging Face shows its own progress bars)."""
    import open_clip

    open_clip.create_model_and_transforms(model, pretrained=tag)  # fills the Hugging Face cache
    found = find_weights(model)
    if found is None:
        raise RuntimeError(f"open_clip downloaded {model}/{tag} but its file was not found in the cache")
    return found


def unavailable_reason(model: str = DEFAULT_MODEL, data_dir: Path | None = None) -> str:
    where = f"{data_dir / 'models' / 'clip' / (model + '.safetensors')}" if data_dir else "the models folder"
    return (f"CLIP weights for {model} were not found (looked at TESSERA_CLIP_WEIGHTS, {where} and the Hugging Face "
            f"cache)")


class ClipEmbedder:
    """Image and text embeddings in one space, L2-normalised float32."""

    def __init__(self, model: str = DEFAULT_MODEL, weights: str | Path | None = None, device: str = "cpu"):
        import open_clip
        import torch

        self.name = model
        self.device = device
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(model, pretrained=None, device=device)
        self.weights_sha256 = ""
        if weights is not None:
            weights = Path(weights)
            if weights.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(weights), device=device)
            else:  # a pickle checkpoint: never unpickled beyond plain tensors
                state = torch.load(weights, map_location=device, weights_only=True)
                state = state.get("state_dict", state)
            self.model.load_state_dict(state)
            self.weights_sha256 = _sha256(weights)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(model)

    @property
    def model_id(self) -> str:
        return f"open_clip:{self.name}:{self.weights_sha256[:12] or 'random'}"

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        import torch
        from PIL import Image

        batch = torch.stack([self.preprocess(Image.fromarray(np.asarray(im)[..., :3])) for im in images]).to(self.device)
        with torch.no_grad():
            vectors = self.model.encode_image(batch).float()
        return _normalise(vectors.cpu().numpy())

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.no_grad():
            vectors = self.model.encode_text(self.tokenizer(texts).to(self.device)).float()
        return _normalise(vectors.cpu().numpy())


def _normalise(v: np.ndarray) -> np.ndarray:
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
