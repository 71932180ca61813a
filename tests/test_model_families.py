"""Telling SD 1.5 and SDXL checkpoints from the files people mistake for them, by tensor names and
shapes alone; each refusal says what the file seems to be and what to do instead."""

import json

import pytest

from desktop.engine.diffusion.families import family_of_folder, family_of_weights
from desktop.engine.diffusion.registry import ModelRegistry
from desktop.errors import UserError

UNET = "model.diffusion_model.input_blocks.0.0.weight"
SD15 = {UNET: [320, 4, 3, 3], "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": [49408, 768]}
SDXL = {UNET: [320, 4, 3, 3], "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight": [768],
        "conditioner.embedders.1.model.ln_final.weight": [1280]}


def test_the_two_families_tessera_draws_with():
    assert family_of_weights("a.safetensors", SD15) == "sd15"
    assert family_of_weights("b.safetensors", SDXL) == "sdxl"


@pytest.mark.parametrize("shapes, says", [
    ({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": [4, 320]}, "a LoRA.*LoRA list"),
    ({"unet.down_blocks.0.attentions.0.proj_in.lora_A.weight": [4, 320]}, "a LoRA"),
    ({"emb_params": [4, 768]}, "an embedding"),
    ({"clip_l": [2, 768], "clip_g": [2, 1280]}, "an embedding"),
    ({"double_blocks.0.img_attn.qkv.weight": [9216, 3072]}, "a FLUX checkpoint"),
    ({"model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight": [4608, 1536]}, "Stable Diffusion 3"),
    ({**SD15, UNET: [320, 9, 3, 3]}, "inpainting or instruct checkpoint .*9 channels"),
    ({**SDXL, UNET: [320, 9, 3, 3]}, "inpainting"),
    ({UNET: [384, 4, 3, 3], "conditioner.embedders.0.model.ln_final.weight": [1280]}, "the SDXL refiner"),
    ({UNET: [320, 4, 3, 3], "cond_stage_model.model.token_embedding.weight": [49408, 1024]}, "Stable Diffusion 2"),
    ({"encoder.conv_in.weight": [128, 3, 3, 3], "decoder.conv_out.weight": [3, 128, 3, 3]}, "a VAE on its own"),
    ({"down_blocks.0.resnets.0.conv1.weight": [320, 320, 3, 3]}, "one part of a diffusers model.*model_index"),
    ({"something.else": [2]}, "cannot tell whether odd.safetensors is an SD 1.5 or SDXL"),
])
def test_other_files_are_named_in_the_refusal(shapes, says):
    with pytest.raises(UserError, match=says):
        family_of_weights("odd.safetensors", shapes)


def _folder(tmp_path, pipeline, **unet):
    folder = tmp_path / pipeline
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": pipeline}))
    (folder / "unet" / "config.json").write_text(json.dumps(unet))
    return folder


def test_folders_of_other_pipelines_are_refused(tmp_path):
    assert family_of_folder(_folder(tmp_path, "StableDiffusionPipeline", cross_attention_dim=768)) == "sd15"
    assert family_of_folder(_folder(tmp_path, "StableDiffusionXLPipeline", cross_attention_dim=2048)) == "sdxl"
    with pytest.raises(UserError, match="looks like a FluxPipeline model"):
        family_of_folder(_folder(tmp_path, "FluxPipeline"))
    with pytest.raises(UserError, match="StableDiffusion3Pipeline"):
        family_of_folder(_folder(tmp_path, "StableDiffusion3Pipeline"))
    with pytest.raises(UserError, match="9 channels"):
        family_of_folder(_folder(tmp_path, "StableDiffusionInpaintPipeline", in_channels=9))


def test_adding_a_lora_as_a_model_says_where_it_belongs(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    path = tmp_path / "gilded-deco.safetensors"
    save_file({"lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 8)}, str(path))
    registry = ModelRegistry(tmp_path / "models.json")
    with pytest.raises(UserError, match=r"gilded-deco\.safetensors looks like a LoRA.*LoRA list"):
        registry.add(str(path))
    assert registry.entries() == []
    torch.save({"state_dict": {"double_blocks.0.x": torch.zeros(1)}}, tmp_path / "flux.ckpt")  # pickles too
    with pytest.raises(UserError, match="FLUX"):
        registry.add(str(tmp_path / "flux.ckpt"), trust_pickle=True)


def test_a_folder_that_ships_code_is_refused_and_the_code_never_runs(tmp_path):
    """A model_index.json can name a component whose class lives in a .py file beside its weights;
    diffusers would import it. Such a folder is refused when added and when loaded."""
    pytest.importorskip("diffusers")
    from desktop.engine.diffusion.pipeline import load_pipeline

    canary = tmp_path / "canary"
    folder = _folder(tmp_path, "StableDiffusionPipeline", cross_attention_dim=768)
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "unet": ["evil", "Evil"]}))
    (folder / "unet" / "evil.py").write_text(f"open({str(canary)!r}, 'w').write('ran')\nclass Evil: pass\n")
    registry = ModelRegistry(tmp_path / "models.json")
    with pytest.raises(UserError, match=r"holds Python code \(unet/evil\.py\).*never runs code"):
        registry.add(str(folder))
    with pytest.raises(UserError, match="never runs code"):
        load_pipeline(folder)
    assert not canary.exists() and registry.entries() == []
