"""The model registry: folders, single files, hub ids; hashes recorded; pickles refused or defused."""

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
    entry = registry.add(str(path), trust_pickle=True)  # trusted by the user, yet still only tensors load
    with pytest.raises(UserError, match="more than tensors"):
        load_state_dict(entry)
    assert not os.path.exists(MARKER)


def test_a_trusted_pickle_of_plain_tensors_loads(registry, tmp_path):
    path = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {"w": torch.ones(3)}}, path)
    entry = registry.add(str(path), trust_pickle=True)
    assert torch.equal(load_state_dict(entry)["w"], torch.ones(3))


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
    torch.save({"w": torch.ones(1)}, path)
    assert main(["models", "add", str(path)]) == 2
    assert "pickle" in capsys.readouterr().err
    assert main(["models", "add", str(path), "--trust-pickle", "--name", "mine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trusted_pickle"] is True
    assert main(["models", "list", "--json"]) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)["models"]] == ["mine"]
    assert main(["models", "remove", "mine"]) == 0
