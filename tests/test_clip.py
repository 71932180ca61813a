"""CLIP through open_clip, with a tiny random model built from a config (no download, no weights)."""

import itertools
import json
import sys

import numpy as np
import pytest

open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from loopback_hub import LoopbackHub  # noqa: E402
from tiny_clip import make_tiny_clip  # noqa: E402

from desktop.library import Library  # noqa: E402
from desktop.library import search as finder  # noqa: E402
from desktop.library.clip import ClipEmbedder, find_weights, load_if_available  # noqa: E402


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A random-weight tiny CLIP saved as safetensors, loaded back through the real loader."""
    return make_tiny_clip(tmp_path_factory.mktemp("clip"))


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


def test_vocabulary_vectors_are_made_once_per_embedder(tiny_weights):
    """Every embedding batch tags with the vocabulary: its text vectors are made once, and the tags
    are the ones fresh vectors give."""
    from desktop.library.tagging import clip_tags

    _, weights = tiny_weights
    embedder = ClipEmbedder("tessera-tiny-clip", weights)
    vectors = embedder.embed_images([tile(1), tile(2)])
    calls = []
    real = embedder.embed_texts
    embedder.embed_texts = lambda texts: calls.append(len(texts)) or real(texts)
    first, second = clip_tags(embedder, vectors), clip_tags(embedder, vectors)
    fresh = ClipEmbedder("tessera-tiny-clip", weights)
    assert len(calls) == 1 and first == second == clip_tags(fresh, vectors)


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


# -- first use: the weights download from a hub (here a loopback one), with progress ------------
@pytest.fixture
def hub(tiny_weights, monkeypatch, tmp_path):
    _, weights = tiny_weights
    server = LoopbackHub(weights.read_bytes(), "/studio/tiny-clip/resolve/main/open_clip_model.safetensors")
    monkeypatch.delenv("TESSERA_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TESSERA_CLIP_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty Hugging Face cache
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("TESSERA_CLIP_REPO", "studio/tiny-clip")
    monkeypatch.setenv("TESSERA_CLIP_MODEL", "tessera-tiny-clip")
    yield server
    server.close()


def test_text_search_downloads_clip_on_first_use_with_progress(hub, tmp_path):
    data = tmp_path / "data"
    seen = []
    with Library(tmp_path / "lib") as lib:
        ids = [lib.add_tile(tile(i), {"style": "toss", "seed": i}).added[0] for i in range(3)]
        assert finder.ensure_clip(lib, data, download=False) != ""  # not here, and not fetched unasked
        assert hub.requests == 0
        assert finder.ensure_clip(lib, data, download=True, progress=lambda d, t: seen.append((d, t))) == ""
        hits = finder.search_text(lib, "a damask pattern", limit=3)
        assert {h["id"] for h in hits} == set(ids) and {h["method"] for h in hits} == {"clip"}
    stored = data / "models" / "clip" / "tessera-tiny-clip.safetensors"
    assert stored.read_bytes() == hub.payload
    assert seen and seen[-1] == (len(hub.payload), len(hub.payload))
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))  # progress only goes forward
    with Library(tmp_path / "lib") as lib:  # the next time it is simply there
        assert finder.ensure_clip(lib, data, download=True) == ""
    assert hub.requests == 1


def test_a_busy_hub_is_retried(hub, tmp_path):
    from desktop.library.clip import download

    hub.mode = "busy-once"
    path = download("tessera-tiny-clip", tmp_path / "data")
    assert path.read_bytes() == hub.payload and hub.requests == 2


@pytest.mark.parametrize("mode, words", [("missing", "answered 404"), ("cut", "")])
def test_a_refused_or_cut_download_leaves_nothing_behind(hub, tmp_path, mode, words):
    hub.mode = mode
    data = tmp_path / "data"
    with Library(tmp_path / "lib") as lib:
        why = finder.ensure_clip(lib, data, download=True)
        assert "were not found" in why and "downloading them failed" in why and words in why
        assert finder.embedder(lib) is None
    folder = data / "models" / "clip"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_offline_machines_never_try(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_OFFLINE", "1")
    with Library(tmp_path / "lib") as lib:
        why = finder.ensure_clip(lib, tmp_path / "data", download=True)
    assert "downloads are off" in why and hub.requests == 0


def test_the_cli_downloads_on_first_text_search(hub, tmp_path, capsys):
    from desktop.cli import main

    lib = str(tmp_path / "lib")
    source = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(tile(7)).save(source)
    assert main(["library", "--library", lib, "import", str(source)]) == 0
    capsys.readouterr()
    assert main(["library", "--library", lib, "search", "a paisley pattern", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"] and out["results"][0]["method"] == "clip"
    assert hub.requests == 1


def test_an_import_keeps_pixels_only_for_clip(tmp_path, tiny_weights, monkeypatch):
    """Without CLIP the index needs only the small copy made on the decode threads: the pixels are
    let go and indexing reads no file. A CLIP attached after such an import reads the stored files."""
    from PIL import Image

    from desktop.engine import images
    from desktop.library.descriptor import small_copy

    _, weights = tiny_weights
    files = []
    for i in range(4):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(tile(i)).save(files[-1])
    real_load = images.load_rgb
    loads = []
    monkeypatch.setattr(images, "load_rgb", lambda path: loads.append(path) or real_load(path))
    with Library(tmp_path / "plain") as lib:
        ids = finder.import_into(lib, files[:2], index_every=100).added
        assert finder.index(lib).ids() == set(ids) and not loads  # the small copies made on import sufficed
        lib.import_paths(files[2:], prepare=small_copy, keep_pixels=False)
        assert [(p is None, small.shape) for p, small in lib._fresh_pixels.values()] == [(True, (128, 128, 3))] * 2
        finder.set_embedder(lib, ClipEmbedder("tessera-tiny-clip", weights))
        assert finder.embed_pending(lib) == 2 and len(loads) == 2  # CLIP needs pixels: read back
        assert finder.index(lib).clip_ids() == set(finder.index(lib).ids()) - set(ids)
    with Library(tmp_path / "clip") as lib:
        finder.set_embedder(lib, ClipEmbedder("tessera-tiny-clip", weights))
        loads.clear()
        ids = finder.import_into(lib, files).added
        assert len(ids) == 4 and not loads and finder.index(lib).clip_ids() == set(ids)  # kept pixels used


def test_clip_in_a_worker_process_gives_the_same_vectors_and_says_what_is_wrong(tiny_weights, tmp_path, monkeypatch):
    """The window's CLIP runs in a worker process: the same model id, the same image and text
    vectors (in chunks down the pipe), and a damaged file is a reason, not a failed job."""
    from desktop.library.clip import ClipInWorker
    from desktop.worker_process import WorkerProcess

    config, weights = tiny_weights
    monkeypatch.setenv("TESSERA_CLIP_CONFIG", str(config))
    monkeypatch.setenv("TESSERA_CLIP_MODEL", "tessera-tiny-clip")
    monkeypatch.setenv("TESSERA_CLIP_WEIGHTS", str(weights))
    local = ClipEmbedder("tessera-tiny-clip", weights)
    worker = WorkerProcess(name="test-clip")
    try:
        remote, why = load_if_available(tmp_path, worker)
        assert why == "" and isinstance(remote, ClipInWorker) and remote.model_id == local.model_id
        remote.CHUNK = 2  # three images: two trips
        images = [tile(1), tile(2), tile(3)]
        assert np.allclose(remote.embed_images(images), local.embed_images(images), atol=1e-6)
        assert np.allclose(remote.embed_texts(["damask", "stripes"]), local.embed_texts(["damask", "stripes"]),
                           atol=1e-6)
        (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
        monkeypatch.setenv("TESSERA_CLIP_WEIGHTS", str(tmp_path / "broken.safetensors"))
        broken, why = load_if_available(tmp_path, worker)
        assert broken is None and why.startswith(f"CLIP weights at {tmp_path / 'broken.safetensors'} could not be loaded (")
        assert worker.starts == 1  # the same process served all of it
    finally:
        worker.close()


def test_large_images_are_made_small_the_same_way_for_both_embedders(tiny_weights):
    from desktop.library.clip import CLIP_SHORT_SIDE, fit_for_clip

    big = (np.random.default_rng(4).random((1200, 900, 4)) * 255).astype(np.uint8)
    small = fit_for_clip(big)
    assert small.shape == (round(1200 * CLIP_SHORT_SIDE / 900), CLIP_SHORT_SIDE, 3)
    assert np.array_equal(fit_for_clip(small), small)  # once is enough
    _, weights = tiny_weights
    local = ClipEmbedder("tessera-tiny-clip", weights)
    assert np.allclose(local.embed_images([big]), local.embed_images([small]), atol=1e-6)


def test_a_large_scan_read_back_for_clip_is_held_at_what_clip_reads(tmp_path, tiny_weights):
    """An import keeps no pixels of a large scan; the embedder reads it back, makes its small copy
    from every pixel, and holds for the batch only what CLIP reads (short side 512)."""
    from PIL import Image

    from desktop.library.clip import CLIP_SHORT_SIDE
    from desktop.library.descriptor import small_copy

    _, weights = tiny_weights
    scan = tmp_path / "scan.png"
    big = np.kron(tile(3), np.ones((100, 100, 1), np.uint8))  # megapixels of it
    Image.fromarray(big).save(scan, compress_level=1)
    with Library(tmp_path / "lib") as lib:
        embedder = ClipEmbedder("tessera-tiny-clip", weights)
        seen = []
        real = embedder.embed_images
        embedder.embed_images = lambda images: seen.extend(im.shape for im in images) or real(images)
        finder.set_embedder(lib, embedder)
        pid = lib.import_paths([scan]).added[0]
        assert lib.take_fresh(pid) is None  # (nothing kept of its pixels)
        finder.embed_pending(lib)
        h, w = big.shape[:2]
        assert h * w > 16 << 20 and seen == [(CLIP_SHORT_SIDE, round(w * CLIP_SHORT_SIDE / h), 3)]
        row = next(r for r in finder.index(lib).all_rows() if r["id"] == pid)
        from desktop.library.search import looks_of

        assert np.allclose(row["vector"], looks_of(small_copy(big)[None])[0]["vector"], atol=1e-5)
