"""LoRA files as the ecosystem writes them, loaded onto tiny random pipelines.

The key names come from the formats themselves, not from Tessera's mapping: kohya sd-scripts
names a layer ``lora_unet_`` / ``lora_te_`` (``lora_te1_`` / ``lora_te2_`` for SDXL) plus the
model's module path with dots as underscores, starting at ``text_model.`` for a text encoder and,
for SDXL, at the original (LDM) UNet's ``input_blocks`` / ``middle_block`` / ``output_blocks``.
The SDXL names here are written out by hand or derived by ``tiny_sd.kohya_sdxl_names``, the test
mapping that diffusers' own single-file loader checks. Each layer's effect is checked against the
LoRA's definition, ``W x + weight x (alpha / rank) x up(down(x))``, on the module itself.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("peft")

from desktop.engine.diffusion import lora_keys  # noqa: E402
from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions  # noqa: E402
from desktop.engine.diffusion.pipeline import DiffusionRequest  # noqa: E402
from desktop.errors import UserError  # noqa: E402
from tiny_sd import kohya_sdxl_names, tiny_pipeline, tiny_sdxl_pipeline  # noqa: E402

F = torch.nn.functional


def layer(state, name, module, rank=2, alpha=1.0, kernel=None, seed=0):
    """A kohya LoRA layer for `module` under `name`: 2-D for linears, 4-D for convolutions."""
    g = torch.Generator().manual_seed(seed)
    if isinstance(module, torch.nn.Linear):
        down, up = torch.randn(rank, module.in_features, generator=g), torch.randn(module.out_features, rank, generator=g)
    else:
        k = kernel or module.kernel_size
        down = torch.randn(rank, module.in_channels, *k, generator=g)
        up = torch.randn(module.out_channels, rank, 1, 1, generator=g)
    state[f"{name}.lora_down.weight"], state[f"{name}.lora_up.weight"] = down * 0.1, up * 0.1
    state[f"{name}.alpha"] = torch.tensor(float(alpha))


def expected(module, state, name, x, weight):
    """What the layer must give with the LoRA at `weight`, from the format's definition."""
    down, up = state[f"{name}.lora_down.weight"], state[f"{name}.lora_up.weight"]
    scale = float(state[f"{name}.alpha"]) / down.shape[0]
    if isinstance(module, torch.nn.Linear):
        return F.linear(x, module.weight, module.bias) + weight * scale * (x @ down.T @ up.T)
    base = F.conv2d(x, module.weight, module.bias, module.stride, module.padding)
    delta = F.conv2d(F.conv2d(x, down, None, module.stride, module.padding), up)
    return base + weight * scale * delta


def sample_input(module):
    g = torch.Generator().manual_seed(5)
    if isinstance(module, torch.nn.Linear):
        return torch.randn(3, module.in_features, generator=g)
    return torch.randn(1, module.in_channels, 8, 8, generator=g)


def check_layers(pipe, state, places, adapter):
    """Each named layer gives its definition's output at weights 1 and 0.5 (so it scales linearly)."""
    for weight in (1.0, 0.5):
        pipe.set_adapters([adapter], adapter_weights=[weight])
        for name, (component, path, module) in places.items():
            x = sample_input(module)
            with torch.no_grad():
                got = getattr(pipe, component).get_submodule(path)(x)
                want = expected(module, state, name, x, weight)
                plain = expected(module, state, name, x, 0.0)
            assert torch.allclose(got, want, atol=1e-4), (name, weight)
            assert (got - plain).abs().max() > 1e-3, name  # the layer matters


@pytest.fixture(scope="module")
def sd15(tmp_path_factory):
    return tiny_pipeline(tmp_path_factory.mktemp("sd15"))


@pytest.fixture(scope="module")
def sdxl(tmp_path_factory):
    return tiny_sdxl_pipeline(tmp_path_factory.mktemp("sdxl"))


def originals(pipe, paths):
    """The modules at these (component, path) places, before any LoRA wraps them."""
    return {name: (component, path, getattr(pipe, component).get_submodule(path)) for name, (component, path)
            in paths.items()}


SD15_LAYERS = {
    # text encoder (kohya's paths start at text_model., transformers 5 flattened CLIPTextModel's)
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj": ("text_encoder", "encoder.layers.0.self_attn.q_proj"),
    "lora_te_text_model_encoder_layers_4_mlp_fc2": ("text_encoder", "encoder.layers.4.mlp.fc2"),
    # UNet attention, 1x1-conv projections, feed-forward
    "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k":
        ("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"),
    "lora_unet_down_blocks_1_attentions_0_proj_in": ("unet", "down_blocks.1.attentions.0.proj_in"),
    "lora_unet_up_blocks_0_attentions_1_proj_out": ("unet", "up_blocks.0.attentions.1.proj_out"),
    "lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj":
        ("unet", "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj"),
    "lora_unet_up_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0":
        ("unet", "up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0"),
    # LyCORIS LoCon: 3x3 convolutions of the resnets, and the upsampler
    "lora_unet_down_blocks_0_resnets_0_conv1": ("unet", "down_blocks.0.resnets.0.conv1"),
    "lora_unet_up_blocks_0_upsamplers_0_conv": ("unet", "up_blocks.0.upsamplers.0.conv"),
}


def test_a_kohya_file_with_text_encoder_projections_and_locon_convs_loads_exactly(sd15):
    places = originals(sd15, SD15_LAYERS)
    assert isinstance(places["lora_unet_down_blocks_1_attentions_0_proj_in"][2], torch.nn.Conv2d)  # a 1x1 conv
    state = {}
    for k, (name, (_, _, module)) in enumerate(places.items()):
        layer(state, name, module, rank=2 + k % 3, alpha=1.0 + k, seed=k)
    converted = lora_keys.to_diffusers(state, sd15, "mixed", "SD 1.5")
    assert len(converted) == 2 * len(places)  # every tensor has its place
    sd15.load_lora_weights(converted, adapter_name="mixed")  # diffusers' own loader, no conversion of its own
    try:
        check_layers(sd15, state, places, "mixed")
    finally:
        sd15.unload_lora_weights()


def test_a_locon_tucker_core_folds_into_one_plain_layer(sd15):
    module = sd15.unet.get_submodule("down_blocks.1.resnets.0.conv2")
    g = torch.Generator().manual_seed(3)
    name, r = "lora_unet_down_blocks_1_resnets_0_conv2", 3
    state = {f"{name}.lora_down.weight": torch.randn(r, module.in_channels, 1, 1, generator=g) * 0.1,
             f"{name}.lora_mid.weight": torch.randn(r, r, 3, 3, generator=g) * 0.1,
             f"{name}.lora_up.weight": torch.randn(module.out_channels, r, 1, 1, generator=g) * 0.1,
             f"{name}.alpha": torch.tensor(1.5)}
    x = sample_input(module)
    with torch.no_grad():  # LyCORIS's Tucker form: a 1x1 down, the kxk core, a 1x1 up
        inner = F.conv2d(F.conv2d(x, state[f"{name}.lora_down.weight"]), state[f"{name}.lora_mid.weight"],
                         None, module.stride, module.padding)
        want = F.conv2d(x, module.weight, module.bias, module.stride, module.padding) \
            + 0.5 * (1.5 / r) * F.conv2d(inner, state[f"{name}.lora_up.weight"])
    sd15.load_lora_weights(lora_keys.to_diffusers(state, sd15, "tucker", "SD 1.5"), adapter_name="tucker")
    try:
        sd15.set_adapters(["tucker"], adapter_weights=[0.5])
        with torch.no_grad():
            got = sd15.unet.get_submodule("down_blocks.1.resnets.0.conv2")(x)
        assert torch.allclose(got, want, atol=1e-4)
    finally:
        sd15.unload_lora_weights()


SDXL_PATHS = ["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
              "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_v",
              "down_blocks.1.attentions.0.proj_in", "mid_block.attentions.0.transformer_blocks.1.ff.net.2",
              "up_blocks.0.attentions.1.transformer_blocks.0.ff.net.0.proj", "up_blocks.0.attentions.0.proj_out",
              "down_blocks.0.resnets.0.conv1", "down_blocks.0.downsamplers.0.conv", "up_blocks.0.upsamplers.0.conv",
              "mid_block.resnets.1.conv2", "up_blocks.1.resnets.1.conv_shortcut", "time_embedding.linear_1"]


def test_an_sdxl_kohya_file_with_both_text_encoders_and_ldm_unet_names_loads_exactly(sdxl):
    names = kohya_sdxl_names(sdxl.unet)
    # a few names written out by hand, as sd-scripts writes them for this two-level, one-layer UNet
    assert names["down_blocks.1.attentions.0.proj_in"] == "lora_unet_input_blocks_3_1_proj_in"
    assert names["up_blocks.0.upsamplers.0.conv"] == "lora_unet_output_blocks_1_2_conv"
    assert names["mid_block.resnets.1.conv2"] == "lora_unet_middle_block_2_out_layers_3"
    paths = {names[p]: ("unet", p) for p in SDXL_PATHS}
    paths["lora_te1_text_model_encoder_layers_1_mlp_fc1"] = ("text_encoder", "encoder.layers.1.mlp.fc1")
    paths["lora_te2_text_model_encoder_layers_0_self_attn_v_proj"] = (
        "text_encoder_2", "text_model.encoder.layers.0.self_attn.v_proj")
    places = originals(sdxl, paths)
    state = {}
    for k, (name, (_, _, module)) in enumerate(places.items()):
        layer(state, name, module, rank=2, alpha=4.0, seed=10 + k)
    converted = lora_keys.to_diffusers(state, sdxl, "xl", "SDXL")
    assert len(converted) == 2 * len(places)
    sdxl.load_lora_weights(converted, adapter_name="xl")
    try:
        check_layers(sdxl, state, places, "xl")
    finally:
        sdxl.unload_lora_weights()


@pytest.mark.parametrize("suffixes, format_name", [
    (["hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "alpha"], "LoHa"),
    (["lokr_w1", "lokr_w2_a", "lokr_w2_b", "alpha"], "LoKr"),
    (["oft_blocks", "alpha"], "OFT"),
    (["lora_down.weight", "lora_up.weight", "dora_scale"], "DoRA"),
    (["diff", "diff_b"], "full weight difference"),
])
def test_other_lycoris_formats_are_named_never_called_a_misfit(sd15, suffixes, format_name):
    state = {f"lora_unet_down_blocks_1_attentions_0_proj_in.{s}": torch.zeros(2, 2) for s in suffixes}
    with pytest.raises(UserError, match=format_name) as caught:
        lora_keys.to_diffusers(state, sd15, "style", "SD 1.5")
    assert "does not fit" not in str(caught.value)


def test_a_layer_the_model_lacks_or_of_other_sizes_does_not_fit(sd15):
    state = {}
    layer(state, "lora_unet_down_blocks_3_attentions_2_proj_in", torch.nn.Linear(8, 8))
    with pytest.raises(UserError, match=r"does not fit this SD 1\.5 model: it has a layer lora_unet_down_blocks_3"):
        lora_keys.to_diffusers(state, sd15, "style", "SD 1.5")
    state = {}
    layer(state, "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k", torch.nn.Linear(768, 64))
    with pytest.raises(UserError, match="other sizes"):
        lora_keys.to_diffusers(state, sd15, "style", "SD 1.5")
    state = {"lora_unet_down_blocks_1_attentions_0_proj_in.lora_down.weight": torch.zeros(2, 64, 1, 1)}
    with pytest.raises(UserError, match=r"damaged.*up weights"):
        lora_keys.to_diffusers(state, sd15, "style", "SD 1.5")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lora-engine")
    tiny_pipeline(folder).save_pretrained(folder / "model")
    return DiffusionEngine.load(str(folder / "model"), EngineOptions(device="cpu"))


def test_the_engine_loads_a_text_encoder_and_unet_kohya_file_and_it_scales(engine, tmp_path):
    """The layout that failed with 'Could not automatically infer state dict type'."""
    from safetensors.torch import save_file

    state = {}
    for k, (name, (component, path)) in enumerate(SD15_LAYERS.items()):
        layer(state, name, getattr(engine.pipe, component).get_submodule(path), rank=4, alpha=2.0, seed=k)
    save_file(state, str(tmp_path / "mixed.safetensors"))
    request = DiffusionRequest(prompt="a tile", width=32, height=32, steps=2, guidance_scale=1.0, seed=3)
    base = engine.generate(request)[0]["image"].astype(float)
    try:
        (spec,) = engine.set_loras([f"{tmp_path / 'mixed.safetensors'}:1"])
        assert spec.layout == "kohya"
        full = engine.generate(request)[0]["image"].astype(float)
        assert np.abs(full - base).max() > 10
        prompt = engine.pipe.encode_prompt("a tile", "cpu", 1, False)[0]
        engine.set_loras([f"{tmp_path / 'mixed.safetensors'}:0.5"])
        half = engine.pipe.encode_prompt("a tile", "cpu", 1, False)[0]
        engine.set_loras([f"{tmp_path / 'mixed.safetensors'}:0"])
        none = engine.pipe.encode_prompt("a tile", "cpu", 1, False)[0]
        # the text encoder's part is on (each layer's linear scaling is checked above, on the module)
        assert (prompt - none).abs().max() > 1e-3 and (half - none).abs().max() > 1e-3
        assert (prompt - half).abs().max() > 1e-3
        assert np.abs(engine.generate(request)[0]["image"].astype(float) - base).max() <= 2
    finally:
        engine.set_loras([])


def test_a_locon_conv_gets_the_repeat_padding(engine, tmp_path):
    from safetensors.torch import save_file

    from desktop.engine.diffusion.padding import apply_repeat_padding, restore_padding

    state = {}
    layer(state, "lora_unet_down_blocks_0_resnets_0_conv1", engine.pipe.unet.get_submodule("down_blocks.0.resnets.0.conv1"))
    save_file(state, str(tmp_path / "locon.safetensors"))
    engine.set_loras([str(tmp_path / "locon.safetensors")])
    try:
        conv = engine.pipe.unet.get_submodule("down_blocks.0.resnets.0.conv1.lora_A")
        inner = next(m for m in conv.modules() if isinstance(m, torch.nn.Conv2d))
        assert inner.kernel_size == (3, 3) and inner.padding == (1, 1)
        patched = apply_repeat_padding(engine.pipe.unet, "half-drop")
        try:
            assert getattr(inner, "_tessera_repeat", None)
        finally:
            assert restore_padding(engine.pipe.unet) == patched
    finally:
        engine.set_loras([])


def test_a_loha_file_in_the_engine_is_named(engine, tmp_path):
    from safetensors.torch import save_file

    name = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"
    save_file({f"{name}.{s}": torch.zeros(2, 64) for s in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b")},
              str(tmp_path / "loha.safetensors"))
    with pytest.raises(UserError, match=r"loha is LoHa .*reads LoRA and LoCon"):
        engine.set_loras([str(tmp_path / "loha.safetensors")])
    assert engine.loras == []
