"""Single-file checkpoints load offline through the bundled configs and CLIP vocabulary.

The bundled configs are checked against the published architectures (parameter counts of
SD 1.5 and SDXL, built on the meta device, so nothing is allocated); the tokenizer written
from open_clip's BPE file is checked against open_clip's own tokenizer. A tiny checkpoint,
written in the test in the original single-file layout, then loads through the same
mechanism (with tiny configs in a copy of resources/) and draws what the original draws.
"""

import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from desktop.engine.diffusion.single_file import config_folder  # noqa: E402
from desktop.errors import UserError  # noqa: E402
from desktop.resources import resources_dir  # noqa: E402
from tiny_sd import tiny_pipeline, to_single_file  # noqa: E402

PUBLISHED = {  # parameters of the released models
    "sd15": {"unet": 859_520_964, "vae": 83_653_863, "text_encoder": 123_060_480},
    "sdxl": {"unet": 2_567_463_684, "vae": 83_653_863, "text_encoder": 123_060_480, "text_encoder_2": 694_659_840},
}


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_bundled_configs_build_the_published_architectures(family, tmp_path):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    folder = config_folder(family, tmp_path)
    counts = {}
    with torch.device("meta"):
        counts["unet"] = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        counts["vae"] = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        counts["text_encoder"] = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
        if family == "sdxl":
            counts["text_encoder_2"] = CLIPTextModelWithProjection(
                CLIPTextConfig.from_pretrained(folder / "text_encoder_2"))
    assert {k: sum(p.numel() for p in m.parameters()) for k, m in counts.items()} == PUBLISHED[family]


def test_the_clip_tokenizer_matches_open_clip(tmp_path):
    from open_clip.tokenizer import SimpleTokenizer
    from transformers import CLIPTokenizer

    folder = config_folder("sdxl", tmp_path)
    ours, second = CLIPTokenizer.from_pretrained(folder / "tokenizer"), CLIPTokenizer.from_pretrained(folder / "tokenizer_2")
    reference = SimpleTokenizer()
    for text in ["a red damask wallpaper, gold on navy", "Art Nouveau peacock feathers!!", "ikat 1920s toile-de-jouy"]:
        assert ours(text).input_ids == [49406, *reference.encode(text), 49407]
    assert len(ours) == 49408 and ours.pad_token == "<|endoftext|>" and second.pad_token == "!"
    assert config_folder("sdxl", tmp_path) == folder  # assembled once


@pytest.fixture()
def tiny_checkpoint(tmp_path, monkeypatch):
    """A tiny SD 1.5 checkpoint in the single-file layout, and resources/ whose sd15 configs are tiny."""
    from safetensors.torch import save_file

    pipe = tiny_pipeline(tmp_path, vocab_size=49408)
    save_file(to_single_file(pipe), str(tmp_path / "tiny-sd15.safetensors"))
    pipe.save_pretrained(tmp_path / "as-folder")
    resources = tmp_path / "resources"
    shutil.copytree(resources_dir(), resources)
    for part in ("unet", "vae", "text_encoder"):
        shutil.copy(tmp_path / "as-folder" / part / "config.json", resources / "diffusion" / "sd15" / part)
    monkeypatch.setenv("TESSERA_RESOURCES", str(resources))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing may be fetched
    return tmp_path / "tiny-sd15.safetensors", pipe


def test_a_single_file_checkpoint_loads_offline_and_draws_like_the_original(tiny_checkpoint):
    from transformers import CLIPTokenizer

    from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions
    from desktop.engine.diffusion.pipeline import DiffusionRequest
    from desktop.engine.diffusion.registry import describe_location

    path, original = tiny_checkpoint
    entry = describe_location(str(path))
    assert (entry.kind, entry.family) == ("single-file", "sd15")
    engine = DiffusionEngine.load(entry, EngineOptions(device="cpu"))
    request = DiffusionRequest("gold damask", repeat="half-drop", width=32, height=32, steps=2, guidance_scale=2.0)
    original.tokenizer = CLIPTokenizer.from_pretrained(config_folder("sd15") / "tokenizer")
    expected = DiffusionEngine(original).generate(request)[0]["image"]
    assert np.abs(engine.generate(request)[0]["image"].astype(int) - expected).max() <= 1


def test_a_trusted_pickle_checkpoint_loads_like_the_safetensors_one(tiny_checkpoint, tmp_path):
    """Older SD 1.5 checkpoints are .ckpt pickles: once trusted, the family comes from their weights
    and they draw exactly as the same weights in a .safetensors file do."""
    from safetensors.torch import load_file

    from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions
    from desktop.engine.diffusion.pipeline import DiffusionRequest
    from desktop.engine.diffusion.registry import describe_location

    path, _ = tiny_checkpoint
    torch.save({"state_dict": load_file(str(path))}, tmp_path / "tiny-sd15.ckpt")
    entry = describe_location(str(tmp_path / "tiny-sd15.ckpt"), trust_pickle=True)
    assert (entry.kind, entry.family, entry.trusted_pickle) == ("single-file", "sd15", True)
    request = DiffusionRequest("gold damask", repeat="half-brick", width=32, height=32, steps=2, guidance_scale=2.0)
    options = EngineOptions(device="cpu")
    from_pickle = DiffusionEngine.load(entry, options).generate(request)[0]["image"]
    from_safetensors = DiffusionEngine.load(describe_location(str(path)), options).generate(request)[0]["image"]
    assert np.array_equal(from_pickle, from_safetensors)


def test_a_checkpoint_replaced_in_place_is_recorded_with_its_new_hash(tiny_checkpoint):
    import hashlib

    from safetensors.torch import load_file, save_file

    from desktop.config import resolve_paths
    from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions
    from desktop.engine.diffusion.registry import ModelRegistry

    path, _ = tiny_checkpoint
    registry = ModelRegistry(resolve_paths().config_dir / "models.json")
    entry = registry.add(str(path))
    save_file(load_file(str(path)), str(path), metadata={"version": "2"})  # new bytes, same weights
    engine = DiffusionEngine.load(registry.get(entry.name), EngineOptions(device="cpu"))
    now = hashlib.sha256(path.read_bytes()).hexdigest()
    assert engine.model_hash == now != entry.sha256
    assert registry.get(entry.name).sha256 == now


def test_the_generate_command_takes_a_checkpoint_path(tiny_checkpoint, tmp_path, capsys):
    import json

    from desktop.cli import main

    path, _ = tiny_checkpoint
    code = main(["generate", "--engine", "diffusion", "--model", str(path), "--prompt", "gold damask",
                 "--size", "32", "--steps", "2", "--out", str(tmp_path / "out"), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    tile = json.loads(out.out)["tiles"][0]
    assert tile["model"] == "tiny-sd15" and len(tile["model_hash"]) == 64


def test_a_checkpoint_of_neither_family_is_refused(tmp_path):
    from safetensors.torch import save_file

    from desktop.engine.diffusion.engine import DiffusionEngine

    save_file({"something.else.weight": torch.zeros(2)}, str(tmp_path / "odd.safetensors"))
    with pytest.raises(UserError, match=r"SD 1\.5 or SDXL"):
        DiffusionEngine.load(str(tmp_path / "odd.safetensors"))
