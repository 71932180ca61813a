"""CLIP through open_clip, with a tiny random model built from a config (no download, no weights)."""

import json
import sys

import numpy as np
import pytest

open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from desktop.library import Library  # noqa: E402
from desktop.library import search as finder  # noqa: E402
from desktop.library.clip import ClipEmbedder, find_weights, load_if_available  # noqa: E402

TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A random-weight tiny CLIP saved as safetensors, loaded back through the real loader."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("clip")
    config = folder / "tessera-tiny-clip.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(str(config))
    torch.manual_seed(0)
    model = open_clip.create_model("tessera-tiny-clip", pretrained=None)
    weights = folder / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return config, weights


def tile(seed):
    return (np.random.default_rng(seed).random((48, 48, 3)) * 255).astype(np.uint8)


def test_embeddings_are_normalised_and_loaded_from_safetensors(tiny_weights):
    _, weights = tiny_weights
    a = ClipEmbedder("tessera-tiny-clip", weights)
    b = ClipEmbedder("tessera-tiny-clip", weights)
    images = a.embed_images([tile(1), tile(2)])
    texts = a.embed_texts(["a damask pattern", "stripes"])
    assert images.shape == (2, 32) and texts.shape == (2, 32)
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    assert np.allclose(images, b.embed_images([tile(1), tile(2)]), atol=1e-6)  # same weights, same answer
    assert a.model_id.startswith("open_clip:tessera-tiny-clip:") and "random" not in a.model_id


def test_weights_are_found_only_where_they_are(tmp_path, monkeypatch, tiny_weights):
    monkeypatch.delenv("TESSERA_CLIP_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert find_weights("ViT-B-32", tmp_path) is None
    embedder, why = load_if_available(tmp_path)
    assert embedder is None and "were not found" in why
    monkeypatch.setenv("TESSERA_CLIP_WEIGHTS", str(tmp_path / "broken.safetensors"))
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    monkeypatch.setenv("TESSERA_CLIP_MODEL", "tessera-tiny-clip")
    embedder, why = load_if_available(tmp_path)
    assert embedder is None and "could not be loaded" in why


def test_text_search_and_auto_tags_with_clip(tmp_path, tiny_weights):
    _, weights = tiny_weights
    with Library(tmp_path / "lib") as lib:
        finder.set_embedder(lib, ClipEmbedder("tessera-tiny-clip", weights))
        ids = [lib.add_tile(tile(i), {"style": "toss", "seed": i}).added[0] for i in range(4)]
        finder.embed_pending(lib)
        hits = finder.search_text(lib, "a paisley pattern", limit=3)
        assert len(hits) == 3 and {h["method"] for h in hits} == {"clip"}
        assert {h["id"] for h in hits} <= set(ids)
        tags = lib.get(ids[0])["tags"]
        from desktop.library.tagging import colour_names, vocabulary_terms

        known = {t.lower() for t in vocabulary_terms()} | set(colour_names())
        assert tags and set(tags) <= known
        lib.update(ids[0], add_tags=["client-a"])
        finder.embed_pending(lib)
        lib.set_auto_tags(ids[0], [])
        assert lib.get(ids[0])["tags"] == ["client-a"]  # a person's tags survive re-tagging


def test_the_cli_uses_clip_when_weights_are_configured(tmp_path, tiny_weights, capsys, monkeypatch):
    from desktop.cli import main

    config, weights = tiny_weights
    monkeypatch.setenv("TESSERA_CLIP_CONFIG", str(config))
    monkeypatch.setenv("TESSERA_CLIP_MODEL", "tessera-tiny-clip")
    monkeypatch.setenv("TESSERA_CLIP_WEIGHTS", str(weights))
    from PIL import Image

    Image.fromarray(tile(7)).save(tmp_path / "t.png")
    root = str(tmp_path / "lib")
    assert main(["library", "import", str(tmp_path / "t.png"), "--library", root]) == 0
    capsys.readouterr()
    assert main(["library", "search", "plaid", "--library", root, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "clip" and result["results"][0]["id"] == 1
    assert "torch" in sys.modules
