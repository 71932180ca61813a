"""The model registry: folders, single files, hub ids; hashes recorded; pickles refused or defused."""

import dataclasses
import hashlib
import json
import os
import pickle

import pytest

from desktop.engine.diffusion.registry import ModelRegistry, load_state_dict
from desktop.errors import UserError

torch = pytest.importorskip("torch")


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models.json")


def test_a_diffusers_folder_is_classified_and_hashed(registry, tmp_path):
    folder = tmp_path / "my-sd15"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    entry = registry.add(str(folder))
    assert (entry.kind, entry.family, len(entry.sha256)) == ("diffusers-folder", "sd15", 64)
    assert [e.name for e in registry.entries()] == ["my-sd15"]
    with pytest.raises(UserError, match=r"model_index\.json"):
        registry.add(str(tmp_path))


def test_single_file_safetensors_family_from_the_header(registry, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "xl.safetensors"
    save_file({"conditioner.embedders.1.model.ln_final.weight": torch.zeros(2),
               "model.diffusion_model.out.0.weight": torch.zeros(2)}, str(path))
    entry = registry.add(str(path), name="xl")
    assert (entry.kind, entry.family) == ("single-file", "sdxl")
    assert set(load_state_dict(entry)) == {"conditioner.embedders.1.model.ln_final.weight",
                                           "model.diffusion_model.out.0.weight"}
    path.write_bytes(b"12345678garbage")
    with pytest.raises(UserError, match="changed since"):
        load_state_dict(entry)


class _Hostile:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/tessera-hostile-marker"


def test_a_hostile_pickle_is_refused_and_never_runs(registry, tmp_path):
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    path = tmp_path / "evil.ckpt"
    with open(path, "wb") as fh:
        pickle.dump({"state_dict": {"w": _Hostile()}}, fh)
    with pytest.raises(UserError, match="pickle file"):
        registry.add(str(path))
    with pytest.raises(UserError, match="more than tensors"):  # trusted by the user, yet only tensors load
        registry.add(str(path), trust_pickle=True)
    assert registry.entries() == []
    # a file swapped for a hostile one after it was trusted: its hash no longer matches, and even a
    # matching hash would only ever be unpickled as tensors
    torch.save({"model.diffusion_model.w": torch.ones(1)}, tmp_path / "plain.ckpt")
    entry = registry.add(str(tmp_path / "plain.ckpt"), trust_pickle=True)
    forged = dataclasses.replace(entry, location=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(UserError, match="more than tensors"):
        load_state_dict(forged)
    assert not os.path.exists(MARKER)


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_a_trusted_pickle_of_plain_tensors_loads_and_knows_its_family(registry, tmp_path, zipped):
    path = tmp_path / "plain.ckpt"
    weights = {"model.diffusion_model.out.0.weight": torch.ones(3), "cond_stage_model.x": torch.zeros(1)}
    torch.save({"state_dict": weights}, path, _use_new_zipfile_serialization=zipped)
    entry = registry.add(str(path), trust_pickle=True)
    assert (entry.family, entry.trusted_pickle) == ("sd15", True)  # read from its weights' names
    assert torch.equal(load_state_dict(entry)["model.diffusion_model.out.0.weight"], torch.ones(3))
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="damaged"):
        registry.add(str(path), trust_pickle=True)


def test_names_are_kept_unique_and_adding_again_refreshes(registry, tmp_path):
    from safetensors.torch import save_file

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        save_file({"model.diffusion_model.x": torch.zeros(1)}, str(tmp_path / folder / "style.safetensors"))
    first = registry.add(str(tmp_path / "a" / "style.safetensors"))
    second = registry.add(str(tmp_path / "b" / "style.safetensors"))
    assert (first.name, second.name) == ("style", "style-2")  # a default name never replaces another model
    save_file({"model.diffusion_model.x": torch.ones(1)}, str(tmp_path / "a" / "style.safetensors"))
    again = registry.add(str(tmp_path / "a" / "style.safetensors"))  # the same file, changed: refreshed
    assert again.name == "style" and again.sha256 != first.sha256
    assert [(e.name, e.sha256) for e in registry.entries()] == [("style", again.sha256), ("style-2", second.sha256)]
    with pytest.raises(UserError, match="already registered"):  # a name asked for is never taken over
        registry.add(str(tmp_path / "b" / "style.safetensors"), name="style")
    with pytest.raises(UserError, match="slash"):
        registry.add(str(tmp_path / "b" / "style.safetensors"), name="my/style")


def test_remove_undo_and_rename(registry, tmp_path):
    for name in ("one", "two", "three"):
        registry.add(f"studio/{name}")
    index, removed = registry.remove("two")
    assert index == 1 and [e.name for e in registry.entries()] == ["one", "three"]
    assert registry.restore(index, removed) == removed  # undo puts it back where it stood
    assert [e.name for e in registry.entries()] == ["one", "two", "three"]
    registry.rename("two", " deux ")
    assert [e.name for e in registry.entries()] == ["one", "deux", "three"]
    assert registry.get("deux").location == "studio/two"
    with pytest.raises(UserError, match="already registered"):
        registry.rename("deux", "one")
    with pytest.raises(UserError, match="needs a name"):
        registry.rename("deux", "  ")
    with pytest.raises(UserError, match="no model"):
        registry.rename("two", "zwei")


def test_hashing_reports_progress_and_can_be_stopped(registry, tmp_path):
    from desktop.engine.diffusion import registry as module

    folder = tmp_path / "model"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "unet" / "weights.safetensors").write_bytes(os.urandom(3 * module.BLOCK + 5))
    seen = []
    entry = registry.add(str(folder), progress=lambda done, total: seen.append((done, total)))
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert seen[-1] == (total, total) and len(seen) >= 4
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    registry.remove(entry.name)
    with pytest.raises(Stop):
        registry.add(str(folder), progress=stop)
    assert registry.entries() == []  # nothing half-registered


def test_hub_ids_and_bad_locations(registry):
    entry = registry.add("stabilityai/stable-diffusion-xl-base-1.0")
    assert (entry.kind, entry.family) == ("hf-id", "sdxl")
    with pytest.raises(UserError, match="no such file"):
        registry.add("/nope/nothing.safetensors")
    registry.remove(entry.name)
    assert registry.entries() == []
    with pytest.raises(UserError):
        registry.remove("ghost")


def test_models_commands(capsys, tmp_path):
    from desktop.cli import main

    path = tmp_path / "evil.ckpt"
    torch.save({"model.diffusion_model.w": torch.ones(1)}, path)
    assert main(["models", "add", str(path)]) == 2
    assert "pickle" in capsys.readouterr().err
    assert main(["models", "add", str(path), "--trust-pickle", "--name", "mine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trusted_pickle"] is True
    assert main(["models", "list", "--json"]) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)["models"]] == ["mine"]
    assert main(["models", "remove", "mine"]) == 0
    assert main(["models", "add", "studio/damask", "--json"]) == 0
    capsys.readouterr()
    assert main(["models", "rename", "damask", "house-damask"]) == 0
    assert "renamed damask to house-damask" in capsys.readouterr().out
    assert main(["models", "rename", "house-damask", "a/b"]) == 2
    assert "slash" in capsys.readouterr().err
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["models"]
    assert [(m["name"], m["available"]) for m in listed] == [("house-damask", True)]
    assert main(["models", "add", str(path), "--trust-pickle", "--name", "moved"]) == 0
    path.unlink()
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    assert "(missing: add it again from where it now is)" in capsys.readouterr().out


def test_models_added_at_once_from_several_threads_are_all_kept(registry):
    from concurrent.futures import ThreadPoolExecutor

    names = [f"studio/model-{i}" for i in range(12)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(registry.add, names))
    assert sorted(e.location for e in registry.entries()) == sorted(names)


def test_a_model_whose_files_moved_says_so_before_loading_anything(registry, tmp_path):
    from safetensors.torch import save_file

    from desktop.engine.diffusion.engine import DiffusionEngine
    from desktop.engine.diffusion.registry import available, label

    path = tmp_path / "house.safetensors"
    save_file({"model.diffusion_model.x": torch.zeros(1)}, str(path))
    entry = registry.add(str(path))
    assert available(entry) and label(entry) == "SD 1.5"
    path.rename(tmp_path / "elsewhere.safetensors")
    assert not available(entry) and label(entry) == "SD 1.5, missing"
    with pytest.raises(UserError, match=r"gone from .*add it again"):
        DiffusionEngine.load(entry)


def test_a_changed_file_is_hashed_again_before_its_hash_is_recorded(registry, tmp_path, monkeypatch):
    """Provenance names the weights that drew: a model file replaced in place gets its new sha256
    (written back to the list); an unchanged one is not read again."""
    from safetensors.torch import save_file

    from desktop.engine.diffusion import registry as module

    path = tmp_path / "house.safetensors"
    save_file({"model.diffusion_model.x": torch.zeros(1)}, str(path))
    entry = registry.add(str(path))
    hashed = []
    real = module._hash_files
    monkeypatch.setattr(module, "_hash_files", lambda paths, progress=None: hashed.append(paths) or real(paths))
    assert registry.refresh(entry) is entry and hashed == []  # unchanged: no gigabytes read
    save_file({"model.diffusion_model.x": torch.ones(1)}, str(path))
    os.utime(path, ns=(1, 1))  # even with an old time, the stamp differs
    fresh = registry.refresh(entry)
    assert fresh.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != entry.sha256
    assert registry.get("house").sha256 == fresh.sha256 and len(hashed) == 1
    assert registry.refresh(registry.get("house")) == registry.get("house") and len(hashed) == 1
    old = dataclasses.replace(fresh, stamp=[])  # an entry from before stamps were kept: hashed once
    assert registry.refresh(old).stamp == fresh.stamp


def test_one_file_of_a_folder_replaced_with_the_same_size_and_an_older_time_is_seen(registry, tmp_path):
    """A studio copies in one file of another version, `cp -p` style: same size, its old mtime, and
    not the folder's newest file. Its count, total size and latest mtime are all unchanged, yet the
    weights differ, so the fingerprint changes and the sha256 is taken again."""
    from desktop.engine.diffusion.registry import STAMP_VERSION, fingerprint

    folder = tmp_path / "house"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"A" * 64)
    os.utime(weights, ns=(10**18, 10**18))  # older than the configs
    entry = registry.add(str(folder))
    assert entry.stamp[0] == STAMP_VERSION and entry.stamp == fingerprint(str(folder))
    weights.write_bytes(b"B" * 64)  # other weights, the same size ...
    os.utime(weights, ns=(10**18, 10**18))  # ... and the same (older) time
    fresh = registry.refresh(registry.get("house"))
    assert fresh.sha256 != entry.sha256 and fresh.stamp != entry.stamp
    assert registry.get("house").sha256 == fresh.sha256
    legacy = dataclasses.replace(fresh, stamp=[3, 64 + 100, 10**18])  # a stamp of the first shape
    assert registry.refresh(legacy).stamp == fresh.stamp  # hashed once, and stamped anew


def test_a_changed_trusted_pickle_is_never_trusted_anew(registry, tmp_path):
    path = tmp_path / "old.ckpt"
    torch.save({"model.diffusion_model.w": torch.ones(1)}, path)
    entry = registry.add(str(path), trust_pickle=True)
    torch.save({"model.diffusion_model.w": torch.zeros(1)}, path)
    assert registry.refresh(entry) is entry  # not re-hashed: the changed file must be refused instead
    with pytest.raises(UserError, match="changed since"):
        load_state_dict(entry)


def test_size_advice_follows_each_familys_training_size():
    from desktop.engine.diffusion.families import size_advice

    assert size_advice("sd15", 512, 768) == "" and size_advice("sdxl", 1024, 1024) == ""
    assert "several times" in size_advice("sd15", 1024, 512)
    assert "loses detail" in size_advice("sdxl", 512, 512)
    assert "several times" in size_advice("sdxl", 2048, 2048)
    assert size_advice("unknown", 64, 64) == ""


def test_a_list_from_a_later_version_is_read_and_a_damaged_one_is_refused(registry):
    registry.path.write_text(json.dumps({"schema_version": 2, "models": [
        {"name": "deco", "kind": "hf-id", "location": "studio/deco", "family": "sd15", "sha256": "",
         "source": "huggingface", "licence": "CreativeML"}]}))
    assert [(e.name, e.location) for e in registry.entries()] == [("deco", "studio/deco")]
    for damaged in ({"models": [["deco"]]}, {"models": [{"name": "deco"}]}, ["not", "a", "table"]):
        registry.path.write_text(json.dumps(damaged))
        with pytest.raises(UserError, match="damaged"):
            registry.entries()


def test_a_folder_of_pickle_weights_goes_through_the_same_gate(registry, tmp_path):
    """The side door: a diffusers folder whose weights are .bin loaded without --trust-pickle."""
    pytest.importorskip("diffusers")
    from desktop.engine.diffusion.pipeline import load_pipeline
    from desktop.engine.diffusion.registry import verify_trusted_pickle
    from tiny_sd import tiny_pipeline

    folder = tmp_path / "old-style"
    tiny_pipeline(tmp_path / "src").save_pretrained(folder, safe_serialization=False)
    assert list(folder.rglob("*.bin"))  # the UNet and VAE (transformers 5 writes its text encoder as safetensors)
    with pytest.raises(UserError, match=r"old-style/.*\.bin is a pickle file, which can run code .*--trust-pickle"):
        registry.add(str(folder))
    assert registry.entries() == []
    with pytest.raises(UserError, match="is a pickle file"):  # nor straight from the folder
        load_pipeline(folder)
    entry = registry.add(str(folder), trust_pickle=True)
    assert entry.trusted_pickle and entry.kind == "diffusers-folder"
    verify_trusted_pickle(entry)
    assert load_pipeline(folder, trust_pickle=True).unet is not None
    with open(next(folder.rglob("*.bin")), "ab") as fh:  # changed since it was trusted
        fh.write(b"\0")
    with pytest.raises(UserError, match="changed since it was added"):
        verify_trusted_pickle(entry)


def test_a_folder_of_safetensors_is_not_asked_to_be_trusted(registry, tmp_path):
    pytest.importorskip("diffusers")
    from tiny_sd import tiny_pipeline

    tiny_pipeline(tmp_path / "src").save_pretrained(tmp_path / "modern")
    assert not registry.add(str(tmp_path / "modern")).trusted_pickle
