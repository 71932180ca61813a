"""CLIP embeddings through open_clip, for text search and auto-tags, when weights are present.

Weights come from, in order: TESSERA_CLIP_WEIGHTS (a file), `<data>/models/clip/<model>.safetensors`,
or the Hugging Face cache that open_clip itself fills when it downloads (`hf-hub` layout). When
none is there and the machine is online, `download` fetches the safetensors into the models
folder on first use, with progress (HF_HUB_OFFLINE=1 or TESSERA_OFFLINE=1 forbid it).
Safetensors load directly; a pickle checkpoint from the HF cache loads with
`weights_only=True`. With none of them the library says so plainly and searches by image with
the built-in descriptor instead. open_clip and torch are imported only here.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from desktop.config import downloads_allowed

DEFAULT_MODEL = "ViT-B-32"
HF_REPOS = {"ViT-B-32": "timm/vit_base_patch32_clip_224.openai"}
HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def model_name() -> str:
    """The CLIP model name: TESSERA_CLIP_MODEL (default ViT-B-32). Imports nothing."""
    return os.environ.get("TESSERA_CLIP_MODEL", DEFAULT_MODEL)


def configured_model() -> str:
    """The model name, with its architecture registered where it is about to be built:
    TESSERA_CLIP_CONFIG may name an open_clip model config JSON (a custom or smaller one)."""
    config = os.environ.get("TESSERA_CLIP_CONFIG")
    if config:
        import open_clip

        open_clip.add_model_config(config)
    return model_name()


def load_if_available(data_dir: Path | None = None, worker=None) -> tuple[ClipEmbedder | ClipInWorker | None, str]:
    """(embedder, "") when weights are found, else (None, why not). Imports torch only if they are,
    and then in `worker` (a desktop.worker_process.WorkerProcess) when one is given: the window's
    process never imports torch, whose import alone would freeze it for 0.4 s."""
    model = model_name()
    weights = find_weights(model, data_dir)
    if weights is None:
        return None, unavailable_reason(model, data_dir)
    try:
        if worker is not None:
            return ClipInWorker(worker, model, weights), ""
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


class ClipDownloadError(Exception):
    """The weights could not be fetched: offline, refused, cut short or not saved (one plain line)."""


def weights_url(model: str = DEFAULT_MODEL) -> str:
    """Where the hub serves the model's safetensors (HF_ENDPOINT moves the hub, as huggingface_hub does)."""
    repo = os.environ.get("TESSERA_CLIP_REPO") or HF_REPOS.get(model)  # a studio's own hub repo, say
    if repo is None:
        raise ClipDownloadError(f"no download is known for CLIP {model}: set TESSERA_CLIP_REPO or put its "
                                f"weights in the models folder")
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return f"{endpoint}/{repo}/resolve/main/{HF_FILES[0]}"


def download(model: str = DEFAULT_MODEL, data_dir: Path | None = None, progress=None) -> Path:
    """Fetch the weights once into `<data>/models/clip/<model>.safetensors`, with progress.

    `progress(done_bytes, total_bytes)` is called as it goes (total 0 when the server does not
    say); an exception it raises (a job's cancel) stops the download. The file is written beside its final name,
    checked (its size, and a safetensors header) and only then moved into place, so a cut or
    refused download leaves nothing behind. Retries with backoff on connection errors and 5xx.
    """
    import urllib3
    from urllib3.util import Retry, Timeout

    if not downloads_allowed():
        raise ClipDownloadError("downloads are off on this machine (HF_HUB_OFFLINE or TESSERA_OFFLINE is set)")
    if data_dir is None:
        from desktop.config import resolve_paths

        data_dir = resolve_paths().data_dir
    target = Path(data_dir) / "models" / "clip" / f"{model}.safetensors"
    if target.is_file():
        return target
    url = weights_url(model)
    part = target.with_name(target.name + ".part")
    http = urllib3.PoolManager(retries=Retry(total=3, connect=3, read=2, backoff_factor=0.5,
                                             status_forcelist=(429, 500, 502, 503, 504)),
                               timeout=Timeout(connect=10, read=60))
    try:
        response = http.request("GET", url, preload_content=False, redirect=True)
    except urllib3.exceptions.HTTPError as exc:
        raise ClipDownloadError(f"could not reach {urllib3.util.parse_url(url).host} to download CLIP {model} "
                                f"(offline? {type(exc).__name__})") from None
    try:
        if response.status != 200:
            raise ClipDownloadError(f"the hub answered {response.status} for {url}")
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "wb") as fh:
            for chunk in response.stream(1 << 20):
                fh.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            fh.flush()
            os.fsync(fh.fileno())
        if total and done != total:
            raise ClipDownloadError(f"the CLIP download stopped at {done} of {total} bytes")
        _check_safetensors(part)
        os.replace(part, target)
    except OSError as exc:
        raise ClipDownloadError(f"could not save the CLIP weights to {target}: {exc.strerror or exc}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise ClipDownloadError(f"the CLIP download broke off ({type(exc).__name__})") from None
    finally:
        response.release_conn()
        if part.exists():
            part.unlink()
    return target


def _check_safetensors(path: Path) -> None:
    """A safetensors file starts with an 8-byte header length and that much JSON."""
    import json
    import struct

    with open(path, "rb") as fh:
        head = fh.read(8)
        size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
        if not 2 <= size <= 100_000_000:
            raise ClipDownloadError(f"what the hub sent is not a safetensors file ({path.stat().st_size} bytes)")
        try:
            json.loads(fh.read(size))
        except ValueError:
            raise ClipDownloadError("what the hub sent is not a safetensors file (its header is not JSON)") from None


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

        batch = torch.stack([self.preprocess(Image.fromarray(fit_for_clip(im))) for im in images]).to(self.device)
        with torch.no_grad():
            vectors = self.model.encode_image(batch).float()
        return _normalise(vectors.cpu().numpy())

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.no_grad():
            vectors = self.model.encode_text(self.tokenizer(texts).to(self.device)).float()
        return _normalise(vectors.cpu().numpy())


CLIP_SHORT_SIDE = 512  # at least twice the 224 px (or 336) CLIP's own preprocessing resizes to


def fit_for_clip(image: np.ndarray) -> np.ndarray:
    """The RGB image, shrunk (area-averaged) so its short side is at most CLIP_SHORT_SIDE. Both
    embedders start with it, so the window's vectors and the command line's are the same."""
    rgb = np.ascontiguousarray(np.asarray(image)[..., :3])
    h, w = rgb.shape[:2]
    if min(h, w) <= CLIP_SHORT_SIDE:
        return rgb
    import cv2

    scale = CLIP_SHORT_SIDE / min(h, w)
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


class ClipInWorker:
    """A ClipEmbedder that lives in a worker process: the same calls, the same vectors."""

    CHUNK = 16  # images per trip down the pipe (at most 12 MB of them)

    def __init__(self, worker, model: str, weights: str | Path):
        self.worker, self.name, self.weights = worker, model, str(weights)
        self.model_id = self._ask("load", [])

    def _ask(self, op: str, items: list):
        return self.worker.call(None, "desktop.library.clip:serve",
                                {"op": op, "model": self.name, "weights": self.weights, "items": items})

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        # made small here (OpenCV lets go of the interpreter lock), so little crosses the pipe:
        # pickling sixteen 1024² tiles held the window's lock for tens of milliseconds
        parts = [self._ask("images", [fit_for_clip(im) for im in images[k:k + self.CHUNK]])
                 for k in range(0, len(images), self.CHUNK)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self._ask("texts", list(texts))


_SERVED: dict[tuple[str, str], ClipEmbedder] = {}  # in the worker: the loaded model


def serve(request: dict, ctx=None):
    """In the worker process: load the model once, then embed (see ClipInWorker)."""
    key = (request["model"], request["weights"])
    if key not in _SERVED:
        _SERVED.clear()
        configured_model()  # registers a configured architecture in this process too
        try:
            _SERVED[key] = ClipEmbedder(request["model"], request["weights"])
        except Exception as exc:  # a wrong or damaged file is the user's to hear about, not a bug
            from desktop.errors import UserError

            raise UserError(str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__) from None
    embedder = _SERVED[key]
    if request["op"] == "images":
        return embedder.embed_images(request["items"])
    if request["op"] == "texts":
        return embedder.embed_texts(request["items"])
    return embedder.model_id


def _normalise(v: np.ndarray) -> np.ndarray:
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
