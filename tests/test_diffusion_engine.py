"""The diffusion engine's Python API on a tiny random pipeline: LoRAs in three layouts with
their weights, trigger words and hashes; batches with one seed per image and the
out-of-memory retry; image-to-image variations and the seamless upscale, with the repeat
padding on; one-axis tiling; device choice. Nothing is downloaded."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
peft = pytest.importorskip("peft")

from desktop.engine.diffusion import loras  # noqa: E402
from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions, resolve_device  # noqa: E402
from desktop.engine.diffusion.img2img import upscaled_size, wrap_resize  # noqa: E402
from desktop.engine.diffusion.pipeline import DiffusionRequest  # noqa: E402
from desktop.errors import UserError  # noqa: E402
from desktop.repeat import pad, window  # noqa: E402
from tiny_sd import tiny_pipeline, tiny_unet  # noqa: E402

TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"]


def small(**kw):
    base = dict(prompt="a tiny pattern", width=32, height=32, steps=2, guidance_scale=1.0, seed=3)
    return DiffusionRequest(**{**base, **kw})


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine")
    tiny_pipeline(root).save_pretrained(root / "model")
    return root


@pytest.fixture(scope="module")
def engine(folder):
    return DiffusionEngine.load(str(folder / "model"), EngineOptions(device="cpu"))


@pytest.fixture(scope="module")
def lora_files(folder):
    """One random LoRA (init_lora_weights=False, scale 2) saved in kohya, diffusers and peft layouts,
    and the image the in-memory LoRA draws."""
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig, get_peft_model
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import load_file, save_file

    config = LoraConfig(r=4, lora_alpha=8, init_lora_weights=False, target_modules=TARGETS)
    torch.manual_seed(7)
    model = get_peft_model(tiny_unet(), config)
    model.save_pretrained(str(folder / "peft-lora"))
    state = {k.removeprefix("base_model.model."): v for k, v in get_peft_model_state_dict(model).items()}
    StableDiffusionPipeline.save_lora_weights(folder / "diffusers-lora", unet_lora_layers=state,
                                              unet_lora_adapter_metadata=config.to_dict())
    kohya = {}
    for key, tensor in load_file(folder / "diffusers-lora" / "pytorch_lora_weights.safetensors").items():
        module, _, rest = key.removeprefix("unet.").partition(".lora_")
        name = "lora_unet_" + module.replace(".", "_")
        if rest.startswith("A"):
            kohya[f"{name}.lora_down.weight"] = tensor
            kohya[f"{name}.alpha"] = torch.tensor(8.0)
        else:
            kohya[f"{name}.lora_up.weight"] = tensor
    freq = json.dumps({"5_deco": {"art deco fans": 12, "gold": 3}})
    save_file(kohya, str(folder / "deco.safetensors"), metadata={"ss_tag_frequency": freq})

    reference = DiffusionEngine(tiny_pipeline(folder / "ref"))
    reference.pipe.unet = model
    reference.pipe.set_progress_bar_config(disable=True)
    image = reference.generate(small())[0]["image"]
    return {"kohya": folder / "deco.safetensors", "peft": folder / "peft-lora",
            "diffusers": folder / "diffusers-lora" / "pytorch_lora_weights.safetensors", "image": image}


@pytest.mark.parametrize("layout", ["kohya", "diffusers", "peft"])
def test_a_lora_changes_the_output_and_survives_save_and_reload(engine, lora_files, layout):
    base = engine.generate(small())[0]["image"]
    specs = engine.set_loras([str(lora_files[layout])])
    try:
        assert specs[0].layout == layout and len(specs[0].sha256) == 64 and len(specs[0].a1111_hash) == 12
        out = engine.generate(small())[0]["image"]
        assert np.abs(out.astype(int) - base).max() > 10  # the LoRA matters
        assert np.abs(out.astype(int) - lora_files["image"]).max() <= 2  # and it is the same LoRA
    finally:
        engine.set_loras([])
    assert np.array_equal(engine.generate(small())[0]["image"], base)  # unloading puts the model back


@pytest.mark.parametrize("layout", ["kohya", "diffusers", "peft"])
def test_each_layout_changes_a_layer_in_proportion_to_its_weight(engine, lora_files, layout):
    """The weight scales a LoRA's change linearly, whatever layout carried it (0.5 is half of 1)."""
    path = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"
    x = torch.randn(2, 64, generator=torch.Generator().manual_seed(1))
    outputs = {}
    try:
        for weight in (0.0, 0.5, 1.0):
            engine.set_loras([f"{lora_files[layout]}:{weight}"])
            with torch.no_grad():
                outputs[weight] = engine.pipe.unet.get_submodule(path)(x)
    finally:
        engine.set_loras([])
    full, half = outputs[1.0] - outputs[0.0], outputs[0.5] - outputs[0.0]
    assert full.abs().max() > 1e-2
    assert torch.allclose(half, full / 2, atol=1e-5)


def test_several_loras_with_weights_triggers_and_provenance(engine, lora_files, folder):
    base = engine.generate(small())[0]["image"]
    (folder / "peft-lora" / "adapter_model.txt").write_text("ikat weave, indigo\n")
    try:
        engine.set_loras([f"{lora_files['kohya']}:0", f"{lora_files['peft']}:0.0"])
        assert np.abs(engine.generate(small())[0]["image"].astype(int) - base).max() <= 2  # weight 0: no change
        engine.set_loras([f"{lora_files['kohya']}:0.5", str(lora_files["peft"])])
        result = engine.generate(small(prompt="a tile, gold"))[0]
        assert np.abs(result["image"].astype(int) - base).max() > 10
        # trigger words: the training set's most frequent tag, and a sidecar's words, appended once
        assert result["prompt"] == "a tile, gold, art deco fans, ikat weave, indigo"
        prov = engine.provenance()
        assert [(lo["name"], lo["weight"]) for lo in prov["loras"]] == [("deco", 0.5), ("peft-lora", 1.0)]
        assert prov["loras"][0]["sha256"] == loras.resolve(str(lora_files["kohya"])).sha256
        # the LoRA's own convolutions get the repeat padding too
        from desktop.engine.diffusion.padding import apply_repeat_padding, restore_padding

        lora_convs = [n for n, m in engine.pipe.unet.named_modules()
                      if isinstance(m, torch.nn.Conv2d) and "lora_A" in n and m.padding != (0, 0)]
        assert lora_convs
        patched = apply_repeat_padding(engine.pipe.unet, "half-drop")
        try:
            assert all(getattr(m, "_tessera_repeat", None) for n, m in engine.pipe.unet.named_modules()
                       if n in lora_convs)
        finally:
            assert restore_padding(engine.pipe.unet) == patched
    finally:
        engine.set_loras([])


def test_bad_loras_are_refused_clearly(engine, folder, tmp_path):
    from safetensors.torch import save_file

    (tmp_path / "style.ckpt").write_bytes(b"not really")
    with pytest.raises(UserError, match="safetensors files only"):
        loras.resolve(str(tmp_path / "style.ckpt"))
    with pytest.raises(UserError, match="no LoRA file"):
        loras.resolve(str(tmp_path / "missing.safetensors"))
    save_file({"weight": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(UserError, match="no LoRA weights"):
        loras.resolve(str(tmp_path / "plain.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 40)
    with pytest.raises(UserError, match="not a readable"):
        loras.resolve(str(tmp_path / "junk.safetensors"))
    save_file({"lora_unet_down_blocks_9_nothing.lora_down.weight": torch.zeros(4, 8),
               "lora_unet_down_blocks_9_nothing.lora_up.weight": torch.zeros(8, 4)}, str(tmp_path / "odd.safetensors"))
    with pytest.raises(UserError, match="does not fit"):
        engine.set_loras([str(tmp_path / "odd.safetensors")])
    assert engine.loras == [] and np.array_equal(engine.generate(small())[0]["image"],
                                                 engine.generate(small())[0]["image"])
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3)}, str(tmp_path / "ckpt.safetensors"))
    with pytest.raises(UserError, match=r"whole SD 1\.5 model, not a LoRA: add it in Generate ▸ Models"):
        loras.resolve(str(tmp_path / "ckpt.safetensors"))
    with pytest.raises(UserError, match="weight"):
        loras.parse_lora_arg("deco.safetensors:9")
    assert loras.parse_lora_arg("deco.safetensors:0.75") == ("deco.safetensors", 0.75)


@pytest.mark.parametrize("meta, shapes, family", [
    ({"ss_base_model_version": "sdxl_base_v1-0"}, {}, "sdxl"),
    ({"modelspec.architecture": "stable-diffusion-v1/lora"}, {}, "sd15"),
    ({"ss_base_model_version": "sd_v2"}, {}, "sd2"),
    ({}, {"lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": [4, 1280]}, "sdxl"),
    ({}, {"lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": [4, 768]}, "sd15"),
    ({}, {"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.lora_A.weight": [4, 2048]}, "sdxl"),
    ({}, {"lora_unet_down_blocks_1_attentions_0_proj_in.lora_down.weight": [4, 640]}, ""),
])
def test_a_loras_family_is_read_from_its_metadata_or_its_shapes(meta, shapes, family):
    header = {"__metadata__": meta, **{k: {"dtype": "F16", "shape": v, "data_offsets": [0, 0]} for k, v in shapes.items()}}
    assert loras.family_of_lora(header) == family


def test_a_lora_for_another_family_is_refused_before_anything_loads(folder, lora_files, tmp_path, monkeypatch):
    from safetensors.torch import load_file, save_file

    from desktop.engine.generate import GenerateRequest, ModelSettings

    xl = tmp_path / "xl-style.safetensors"
    save_file(load_file(str(lora_files["kohya"])), str(xl), metadata={"ss_base_model_version": "sdxl_base_v1-0"})
    monkeypatch.setattr(DiffusionEngine, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    request = GenerateRequest(engine="diffusion", prompt="x", width=32, height=32,
                              diffusion=ModelSettings(model=str(folder / "model"), loras=[f"{xl}:0.8"]))
    with pytest.raises(UserError, match=r"xl-style is a LoRA for SDXL, and the model is SD 1\.5: choose a LoRA"):
        request.validated()
    assert loras.resolve(str(lora_files["kohya"])).family == ""  # a tiny LoRA: its widths name no family


def test_a_batch_gives_the_same_images_as_one_at_a_time(engine):
    one = engine.generate(small(count=3))
    batched = engine.generate(small(count=3, batch_size=3))
    assert [r["seed"] for r in batched] == [3, 4, 5]
    for a, b in zip(one, batched):
        assert np.abs(a["image"].astype(int) - b["image"]).max() <= 1


class OutOfMemoryOver:
    """The tiny pipeline behind a proxy whose GPU 'runs out of memory' above a batch size."""

    def __init__(self, pipe, limit):
        self._pipe, self.limit, self.calls = pipe, limit, []

    def __getattr__(self, name):
        return getattr(self._pipe, name)

    def __call__(self, *args, **kwargs):
        n = kwargs["num_images_per_prompt"]
        self.calls.append(n)
        if n > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self._pipe(*args, **kwargs)

    def enable_attention_slicing(self):
        self.limit = max(self.limit, 1) if self.limit >= 0 else -1


def test_out_of_memory_retries_with_a_smaller_batch_then_says_what_to_do(engine):
    from desktop.engine.diffusion.pipeline import generate

    proxy = OutOfMemoryOver(engine.pipe, limit=1)
    results = generate(proxy, small(count=4, batch_size=4))
    assert proxy.calls[:3] == [4, 2, 1] and len(results) == 4 and [r["seed"] for r in results] == [3, 4, 5, 6]
    assert "retrying 1 image(s) at a time" in results[0]["warnings"][-1]
    hopeless = OutOfMemoryOver(engine.pipe, limit=-1)
    with pytest.raises(UserError, match="ran out of memory rendering one 32x32 image"):
        generate(hopeless, small())
    assert hopeless.calls == [1, 1]  # once plain, once with slicing on


def test_variations_keep_the_repeat(engine, monkeypatch):
    """With the noise fixed, moving the source tile along its lattice moves the variation with it:
    the VAE encoder, the UNet and the decoder all see the tile's neighbours through the repeat."""
    import diffusers.models.autoencoders.vae as vae_module
    import diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img as img2img_module

    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    noise = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    shift = {"x": 0, "y": 0}

    def fixed_noise(shape, generator=None, device=None, dtype=None, layout=None):
        moved = window(noise, "half-drop", shift["x"], shift["y"], 16, 16)
        return moved.expand(*shape).to(dtype=dtype or torch.float32).clone()

    monkeypatch.setattr(img2img_module, "randn_tensor", fixed_noise)
    monkeypatch.setattr(vae_module, "randn_tensor", fixed_noise)
    request = small(repeat="half-drop", steps=4)
    first = engine.vary(source, request, strength=0.5)[0]["image"].astype(int)
    assert first.shape == (32, 32, 3) and np.abs(first - source).mean() > 5
    shift.update(x=4, y=2)
    moved = engine.vary(window(source, "half-drop", 8, 4, 32, 32), request, strength=0.5)[0]["image"].astype(int)
    error = np.abs(moved - window(first, "half-drop", 8, 4, 32, 32))
    assert error.max() <= 1  # uint8 rounding only


def test_wrap_resize_keeps_the_tile_seamless():
    import cv2

    rng = np.random.default_rng(1)
    for repeat in ("basic", "half-drop", "mirror"):
        tile = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        big = wrap_resize(tile, repeat, 128, 96)
        # the same as resizing the tile among its neighbours and cutting the middle out
        plane = cv2.resize(pad(tile, (64, 64, 48, 48), repeat), (384, 288), interpolation=cv2.INTER_LANCZOS4)
        assert big.shape == (96, 128, 3)
        assert np.abs(big.astype(int) - plane[96:192, 128:256]).max() <= 1
    assert upscaled_size(500, 300, 2.0) == (1000, 600)
    with pytest.raises(UserError, match="between 1 and 8"):
        upscaled_size(64, 64, 20)


def test_upscale_refines_at_the_new_size(engine):
    rng = np.random.default_rng(2)
    tile = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    out = engine.upscale(tile, small(repeat="half-brick"), factor=2, strength=0.5)
    assert len(out) == 1 and out[0]["image"].shape == (64, 64, 3)
    resized_only = engine.upscale(tile, small(repeat="half-brick"), factor=2, strength=0)[0]["image"]
    assert np.array_equal(resized_only, wrap_resize(tile, "half-brick", 64, 64))


def test_one_axis_tiling_and_cancel_within_a_step(engine):
    assert engine.generate(small(axes="x"))[0]["image"].shape == (32, 32, 3)
    with pytest.raises(UserError, match="basic repeat"):
        engine.generate(small(axes="y", repeat="half-drop"))

    class Ctx:
        cancelled = False
        steps = 0

        def preview(self, image):
            pass

        def progress(self, step, total=None, message=None):
            self.steps += 1
            if self.steps == 2:
                self.cancelled = True

        def check_cancelled(self):
            if self.cancelled:
                raise RuntimeError("cancelled")

    ctx = Ctx()
    with pytest.raises(RuntimeError, match="cancelled"):
        engine.generate(small(steps=6, count=2), ctx)
    assert ctx.steps == 2  # it stopped at the step where the cancel came


def test_device_choice_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    device, dtype, warnings = resolve_device(EngineOptions())
    assert (device, dtype) == ("cpu", "float32") and "CPU" in warnings[0]
    device, dtype, warnings = resolve_device(EngineOptions(device="cuda", dtype="float16"))
    assert (device, dtype) == ("cpu", "float32") and len(warnings) == 2
    with pytest.raises(UserError, match="precision"):
        resolve_device(EngineOptions(dtype="float8"))


def test_the_engine_reports_sdpa_attention(engine):
    assert engine.attention == "sdpa"


def test_generate_command_with_model_path_loras_batches_and_a1111_metadata(folder, lora_files, tmp_path, capsys):
    from PIL import Image

    from desktop.cli import main
    from desktop.library import Library
    from desktop.library.metadata_chunks import parse_a1111

    code = main(["generate", "--engine", "diffusion", "--model", str(folder / "model"), "--prompt", "gold damask",
                 "--negative", "blur", "--lora", f"{lora_files['kohya']}:0.5", "--repeat", "half-drop", "--size", "32",
                 "--steps", "2", "--cfg", "3", "--seed", "4", "--count", "2", "--batch-size", "2",
                 "--out", str(tmp_path / "o"), "--to-library", "--library", str(tmp_path / "lib"), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    tiles = json.loads(out.out)["tiles"]
    assert [t["seed"] for t in tiles] == [4, 5] and tiles[0]["cfg"] == 3.0
    if not torch.cuda.is_available():  # the CPU fallback is said, once, and kept with the tiles
        assert out.err.count("warning: No CUDA GPU found") == 1 and "CPU" in tiles[0]["warnings"][0]
    assert tiles[0]["loras"][0]["weight"] == 0.5 and tiles[0]["prompt_used"] == "gold damask, art deco fans"
    with Image.open(tiles[0]["path"]) as img:
        parsed = parse_a1111(img.text["parameters"])
    assert parsed["prompt"] == "gold damask, art deco fans" and parsed["negative_prompt"] == "blur"
    spec = loras.resolve(str(lora_files["kohya"]))
    assert parsed["settings"]["Lora hashes"] == f"deco: {spec.a1111_hash}" and parsed["cfg"] == 3.0
    with Library(tmp_path / "lib") as lib:
        prov = lib.get(tiles[0]["library_id"])["provenance"]
        assert prov["loras"][0]["sha256"] == spec.sha256 and prov["prompt"] == "gold damask"

    # a variation of the first tile, into the library with its parent
    code = main(["generate", "--engine", "diffusion", "--model", str(folder / "model"), "--prompt", "gold damask",
                 "--from", tiles[0]["path"], "--strength", "0.6", "--steps", "4", "--count", "2",
                 "--out", str(tmp_path / "v"), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    varied = json.loads(out.out)["tiles"]
    assert len(varied) == 2 and varied[0]["mode"] == "variation" and varied[0]["repeat"] == "half-drop"
    assert varied[0]["source_image"]["sha256"] and varied[0]["strength"] == 0.6 and varied[0]["size"] == [32, 32]


def test_upscale_without_a_model_is_a_seamless_resize(tmp_path, capsys):
    from desktop.cli import main
    from desktop.engine.images import load_rgb

    assert main(["generate", "--style", "hexagons", "--repeat", "half-brick", "--size", "64x48",
                 "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    source = next(tmp_path.glob("*.png"))
    code = main(["generate", "--from", str(source), "--upscale", "2", "--count", "3", "--out", str(tmp_path / "big"),
                 "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    tiles = json.loads(out.out)["tiles"]
    tile = tiles[-1]
    assert len(tiles) == 1 and tile["path"].endswith("-half-brick-128x96-s0.png")  # one upscale, named by its size
    assert tile["size"] == [128, 96] and tile["repeat"] == "half-brick" and tile["engine"] == "resize"
    from desktop.engine.images import read_metadata

    assert tile["palette"]["colors"] == read_metadata(source)["palette"]["colors"]  # the source's own palette
    from PIL import Image

    Image.fromarray(load_rgb(source)).save(tmp_path / "plain.png")  # no metadata: no brief palette to check
    assert main(["generate", "--from", str(tmp_path / "plain.png"), "--upscale", "2", "--out", str(tmp_path / "p"),
                 "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)["tiles"][0]
    assert plain["palette"] == {} and next(c for c in plain["qa"]["checks"] if c["name"] == "palette")["status"] == "skip"
    assert "style" not in tile and tile["qa"]["checks"][0]["name"] == "seam"
    assert np.array_equal(load_rgb(tile["path"]), wrap_resize(load_rgb(source), "half-brick", 128, 96))
    seam = next(c for c in tile["qa"]["checks"] if c["name"] == "seam")
    assert seam["status"] == "pass"
    assert main(["generate", "--from", str(source), "--out", str(tmp_path / "x")]) == 2
    assert "variations need a diffusion model" in capsys.readouterr().err
    assert main(["generate", "--from", str(source), "--upscale", "2", "--size", "64", "--out", str(tmp_path / "x")]) == 2
    assert "--size does not go with --from: a variation keeps the image's size" in capsys.readouterr().err
    assert main(["generate", "--from", str(tmp_path / "none.png"), "--upscale", "2", "--out", str(tmp_path)]) == 2


def test_previews_fire_every_step_and_use_taesd_when_present(engine, tmp_path):
    from diffusers import AutoencoderTiny

    from desktop.engine.diffusion.previews import find_taesd

    class Ctx:
        cancelled = False

        def __init__(self):
            self.previews, self.steps = [], []

        def preview(self, image):
            self.previews.append(image)

        def progress(self, step, total=None, message=None):
            self.steps.append(step)

        def check_cancelled(self):
            pass

    ctx = Ctx()
    engine.generate(small(steps=3), ctx)
    assert len(ctx.previews) == 3 and all(p.shape == (16, 16, 3) for p in ctx.previews)  # latent-sized
    torch.manual_seed(0)
    AutoencoderTiny(encoder_block_out_channels=(8, 8), decoder_block_out_channels=(8, 8), num_encoder_blocks=(1, 1),
                    num_decoder_blocks=(1, 1), latent_channels=4).save_pretrained(tmp_path / "models" / "taesd")
    assert find_taesd("sd15", tmp_path) == str(tmp_path / "models" / "taesd") and find_taesd("sdxl", tmp_path) is None
    assert engine.use_taesd(find_taesd("sd15", tmp_path))
    try:
        ctx = Ctx()
        engine.generate(small(steps=3), ctx)
        assert len(ctx.previews) == 3 and all(p.shape == (32, 32, 3) and p.dtype == np.uint8 for p in ctx.previews)
    finally:
        del engine.pipe._tessera_previewer


def test_the_diffusion_inpainter_mends_seams_and_keeps_the_rest(engine):
    from desktop.engine.diffusion.engine import seam_ramp
    from desktop.engine.qa.loop import self_correct

    rng = np.random.default_rng(5)
    tile = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    ramp = seam_ramp(32, 32, 4)
    assert ramp[0, 10] == 1 and ramp[31, 10] == 1 and ramp[16, 16] == 0 and np.array_equal(ramp, ramp[::-1, ::-1])
    mended = engine.repair_seam(tile, small(repeat="half-drop", steps=4), band=4)
    inside, outside = ramp > 0, ramp == 0
    assert np.array_equal(mended[outside], tile[outside])  # untouched beyond the band
    assert np.abs(mended[inside].astype(int) - tile[inside]).mean() > 5  # repainted along the seams
    assert np.array_equal(engine.repair_seam(tile, small(repeat="mirror")), tile)

    # the self-correcting loop uses it when one is given, and records so
    class Report:
        def __init__(self, passed):
            self.passed, self.failed, self.checks = passed, [] if passed else ["seam"], []

        def summary(self):
            return "pass" if self.passed else "seam fails"

    calls = []

    def mend(image):
        calls.append(image)
        return engine.repair_seam(image, small(repeat="half-drop", steps=2), band=4)

    result = self_correct(lambda seed, settings: tile, lambda image: Report(bool(calls)), 1, "half-drop",
                          max_attempts=2, mend_seam=(mend, "mended the seam with the diffusion inpainter"))
    assert len(calls) == 1 and result.passed
    assert [a.note for a in result.attempts] == ["first try", "mended the seam with the diffusion inpainter"]


def test_vae_tiling_through_the_engine(engine):
    plain = engine.generate(small(repeat="half-drop"))[0]["image"]
    tiled = engine.generate(small(repeat="half-drop", vae_tiling="on"))[0]["image"]
    assert tiled.shape == plain.shape and np.abs(tiled.astype(int) - plain).max() <= 1  # one window: the same
    with pytest.raises(UserError, match="VAE tiling"):
        engine.generate(small(vae_tiling="sometimes"))


def test_a_compiled_unet_keeps_the_padding_and_the_picture(folder, engine):
    """torch.compile traces the padded convolutions (the index maps are built outside the graph)."""
    compiled = DiffusionEngine.load(str(folder / "model"), EngineOptions(device="cpu", compile="eager"))
    assert compiled.compiled
    request = small(repeat="half-drop")
    expected = engine.generate(request)[0]["image"]
    for _ in range(2):
        assert np.array_equal(compiled.generate(request)[0]["image"], expected)
