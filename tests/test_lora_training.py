"""Training a style LoRA on a tiny random pipeline: it learns (the held-out loss falls), the file
it writes is the LoRA it trained (Generate draws the same with it), its metadata names what it
was trained on, each step sees a tile from another origin on its plane, a stop writes nothing,
and bad input is one sentence. The tiles are real seamless tiles from the procedural engine."""

import base64
import errno
import io
import json
import os
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
peft = pytest.importorskip("peft")

from desktop.cli import main  # noqa: E402
from desktop.engine.diffusion import loras  # noqa: E402
from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions  # noqa: E402
from desktop.engine.diffusion.training import (  # noqa: E402
    LoraTrainer,
    TrainingRequest,
    shifted,
    train_lora,
    training_size,
)
from desktop.errors import UserError  # noqa: E402
from desktop.jobs import JobCancelled  # noqa: E402
from desktop.repeat import Repeat, repeat_view, window  # noqa: E402


def request(model, tiles, **kw):
    base = dict(model=str(model), name="deco", items=tiles, trigger="tsr deco", steps=4, rank=4, resolution=32,
                learning_rate=1e-3, samples=0, score_samples=0)
    return TrainingRequest(**{**base, **kw})


class Ctx:
    def __init__(self, stop_after=None):
        self.stop_after, self.messages, self.cancelled, self.previews = stop_after, [], False, []

    def progress(self, step, total=None, message=None):
        self.messages.append(message)
        if self.stop_after is not None and message and message.startswith(f"step {self.stop_after} "):
            self.cancelled = True

    def preview(self, image):
        self.previews.append(image)

    def check_cancelled(self):
        if self.cancelled:
            raise JobCancelled()


def test_training_lowers_the_held_out_loss_and_the_file_is_the_lora_it_trained(model, tiles, tmp_path):
    engine = DiffusionEngine.load(str(model), EngineOptions(device="cpu"))
    req = request(model, tiles, steps=60, rank=8, learning_rate=1e-2)
    trainer = LoraTrainer(engine.pipe, "sd15", req, "cpu", "float32")
    trainer.prepare()
    before = trainer.held_out_loss()
    for k in range(req.steps):
        trainer.step(k)
    after = trainer.held_out_loss()
    assert after < 0.95 * before  # it learned these tiles (measured: about 8 % lower)

    # the UNet with the trained adapter, on a fixed input
    torch.manual_seed(5)
    noisy, t, text = torch.randn(1, 4, 16, 16), torch.tensor([500]), torch.randn(1, 77, 32)
    trainer.pipe.unet.eval()
    trainer.pad(None)  # as Generate loads it: the convolutions pad with zeros until a render asks
    with torch.no_grad():
        trained = trainer.pipe.unet(noisy, t, text).sample
    path = tmp_path / "deco.safetensors"
    from desktop.engine.diffusion.training import save

    save(path, trainer.tensors(), trainer.metadata({"name": "tiny", "sha256": "ab" * 32}, 1.0))
    trainer.detach()
    with torch.no_grad():
        plain = engine.pipe.unet(noisy, t, text).sample
    assert not getattr(engine.pipe.unet, "peft_config", None)  # the adapter is off the UNet again

    fresh = DiffusionEngine.load(str(model), EngineOptions(device="cpu"))
    spec = fresh.set_loras([str(path)])[0]
    assert spec.layout == "kohya" and spec.family == "sd15" and spec.trigger_words == ["tsr deco"]
    with torch.no_grad():
        loaded = fresh.pipe.unet(noisy, t, text).sample
    change = (trained - plain).abs().max()
    assert change > 1e-3  # the LoRA matters
    assert (loaded - trained).abs().max() < 0.02 * change  # and the file holds it (float16 rounding only)


def test_a_shifted_tile_is_the_same_plane_from_another_origin():
    tile = torch.arange(2 * 8 * 6, dtype=torch.float32).reshape(1, 2, 8, 6)
    for repeat in (Repeat.BASIC, Repeat.HALF_DROP, Repeat.HALF_BRICK):
        moved = shifted(tile, repeat, 4, 3)
        assert moved.shape == tile.shape
        # tiled through the same repeat, the moved tile is the original plane seen from (4, 3)
        assert torch.equal(repeat_view(moved, repeat), window(tile, repeat, 4, 3, 18, 24))


def test_train_lora_writes_a_kohya_file_that_says_what_trained_it(model, tiles, tmp_path):
    ctx = Ctx()
    result = train_lora(request(model, tiles, out=str(tmp_path / "deco.safetensors")), ctx)
    assert result["tiles"] == 3 and result["steps"] == 4 and result["skipped"] == []
    assert len(result["loss_curve"]) == 4 and result["device"] == "cpu"
    assert [m for m in ctx.messages if m and m.startswith("step ")][-1].startswith("step 4 of 4, loss ")
    spec = loras.resolve(result["path"])
    assert spec.sha256 == result["sha256"] and spec.trigger_words == ["tsr deco"] and spec.family == "sd15"
    from desktop.engine.diffusion.weights import safetensors_header

    meta = safetensors_header(spec.path)[0]["__metadata__"]
    facts = json.loads(meta["tessera.training"])
    assert [t["sha256"] for t in facts["tiles"]] == [t["sha256"] for t in tiles]
    assert {t["repeat"] for t in facts["tiles"]} == {"basic", "half-drop"}
    assert facts["base_model"]["family"] == "sd15" and len(facts["base_model"]["sha256"]) == 64
    assert meta["ss_network_dim"] == "4" and meta["ss_base_model_version"] == "sd_v1"


def test_a_stop_writes_no_lora_keeps_the_run_to_resume_and_leaves_the_model_as_it_was(model, tiles, tmp_path,
                                                                                     monkeypatch):
    seen = []
    real_detach = LoraTrainer.detach

    def detach(self):
        real_detach(self)
        seen.append(dict(getattr(self.pipe.unet, "peft_config", {})))

    monkeypatch.setattr(LoraTrainer, "detach", detach)
    ctx = Ctx(stop_after=2)
    with pytest.raises(JobCancelled):
        train_lora(request(model, tiles, steps=50, out=str(tmp_path / "deco.safetensors")), ctx)
    steps = [m for m in ctx.messages if m and m.startswith("step ")]
    assert len(steps) == 2  # it stopped at the next step
    # no LoRA: the run to resume, and its loss curve so far
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deco.checkpoints", "deco.loss.csv", "deco.tensorboard"]
    assert seen == [{}]
    assert [p.name for p in (tmp_path / "deco.checkpoints").iterdir()] == ["step-000002.safetensors"]
    with pytest.raises(JobCancelled):  # and with checkpoints off, nothing at all
        train_lora(request(model, tiles, steps=50, checkpoint_every=0, out=str(tmp_path / "other.safetensors")),
                   Ctx(stop_after=2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deco.checkpoints", "deco.loss.csv", "deco.tensorboard"]


def test_unreadable_tiles_are_skipped_and_none_at_all_is_one_sentence(model, tiles, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    items = [*tiles[:1], {"file": str(broken), "caption": "x", "repeat": "basic"},
             {"file": str(tmp_path / "gone.png"), "caption": "x", "repeat": "basic"}]
    result = train_lora(request(model, items, steps=2, out=str(tmp_path / "a.safetensors")))
    assert result["tiles"] == 1 and [s["file"] for s in result["skipped"]] == [str(broken), str(tmp_path / "gone.png")]
    with pytest.raises(UserError, match=r"none of the 2 tile\(s\) could be read.*broken\.png"):
        train_lora(request(model, items[1:], steps=2, out=str(tmp_path / "b.safetensors")))
    assert not (tmp_path / "b.safetensors").exists()


@pytest.mark.parametrize("change, message", [
    (dict(items=[]), "no tiles to train on"),
    (dict(name="../evil"), "a LoRA name is"),
    (dict(rank=0), "rank must be between"),
    (dict(learning_rate=2.0), "learning rate"),
    (dict(out="/tmp/x.ckpt"), "written as .safetensors"),
    (dict(items=[{"file": "a.png", "repeat": "zigzag"}]), "zigzag"),
])
def test_bad_requests_are_refused_before_a_model_loads(model, tiles, change, message, monkeypatch):
    monkeypatch.setattr(DiffusionEngine, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    with pytest.raises(UserError, match=message):
        train_lora(request(model, tiles, **change))


def test_an_existing_lora_is_never_overwritten(model, tiles, tmp_path, monkeypatch):
    there = tmp_path / "deco.safetensors"
    there.write_bytes(b"mine")
    monkeypatch.setattr(DiffusionEngine, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    with pytest.raises(UserError, match="already a LoRA"):
        train_lora(request(model, tiles, out=str(there)))
    assert there.read_bytes() == b"mine"


def test_a_full_disk_at_the_end_is_one_sentence_and_leaves_no_file(model, tiles, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("desktop.config.atomic_write_bytes", full)
    with pytest.raises(UserError, match="No space left on device; nothing was written"):
        train_lora(request(model, tiles, steps=1, out=str(tmp_path / "deco.safetensors")))
    assert list(tmp_path.iterdir()) == []


def test_training_sizes_keep_the_aspect_at_the_resolution():
    assert training_size(1024, 1024, 512, 64) == (512, 512)
    assert training_size(2048, 1024, 512, 64) == (704, 384)  # 2:1 at about 512² pixels
    assert training_size(30, 30, 512, 64) == (512, 512)


def test_training_puts_offset_tiles_on_sizes_their_repeat_keeps_exact():
    """SD 1.5 (a VAE of scale 8, a UNet that halves 3 times): a half-drop tile's height is a multiple of
    128, not only of 64, so its offset is a whole pixel at the UNet's coarsest level."""
    from types import SimpleNamespace

    from desktop.engine.diffusion.training import LoraTrainer
    from desktop.repeat import Repeat

    sd15 = SimpleNamespace(pipe=SimpleNamespace(unet=SimpleNamespace(config=SimpleNamespace(
        block_out_channels=[320, 640, 1280, 1280])), vae_scale_factor=8))
    sd15.multiple = LoraTrainer.multiple.fget(sd15)
    steps = {r: LoraTrainer.multiples(sd15, r) for r in Repeat}
    assert steps == {Repeat.BASIC: (64, 64), Repeat.MIRROR: (64, 64), Repeat.HALF_DROP: (64, 128),
                     Repeat.HALF_BRICK: (128, 64)}
    w, h = training_size(1152, 1152, 576, steps[Repeat.HALF_DROP])  # 576 px would be half a pixel off
    assert (w, h) == (576, 512) and h % 128 == 0


def _library_with_tiles(tmp_path, tiles):
    from desktop.engine.images import load_rgb, read_metadata
    from desktop.library import Library

    lib = Library(tmp_path / "lib")
    ids = []
    for tile in tiles:
        meta = read_metadata(tile["file"])
        ids.append(lib.add_tile(load_rgb(tile["file"]), meta).added[0])
    return lib, ids


def test_the_training_set_is_the_approved_archive_with_captions(tiles, tmp_path):
    from desktop.library.training_set import training_items

    lib, ids = _library_with_tiles(tmp_path, tiles)
    try:
        assert training_items(lib) == []  # nothing approved yet
        lib.update(ids[0], status="approved")
        lib.update(ids[1], status="approved")
        got = training_items(lib)
        assert sorted(i["id"] for i in got) == sorted(ids[:2])
        assert {i["repeat"] for i in got} == {"basic", "half-drop"}
        assert all(i["caption"].split(",")[0] in ("stripes pattern", "checks pattern") for i in got)
        assert [i["id"] for i in training_items(lib, ids=[ids[2]])] == [ids[2]]  # chosen: whatever the status
        lib.update(ids[0], status="published")  # a published pattern stays in the approved archive
        assert sorted(i["id"] for i in training_items(lib)) == sorted(ids[:2])
        assert [i["id"] for i in training_items(lib, status="draft")] == [ids[2]]
    finally:
        lib.close()


def test_the_lora_train_command_trains_from_the_library_and_lists_it(model, tiles, tmp_path, capsys):
    lib, ids = _library_with_tiles(tmp_path, tiles)
    lib.close()
    base = ["--library", str(tmp_path / "lib"), "lora", "train", "--model", str(model), "--name", "deco",
            "--trigger", "tsr deco", "--steps", "2", "--rank", "2", "--resolution", "32", "--samples", "1",
            "--sample-steps", "2"]
    assert main(base) == 2
    assert "no tiles to train on: the approved tiles are none" in capsys.readouterr().err
    assert main(["--library", str(tmp_path / "lib"), "library", "set", str(ids[1]), "--status", "approved"]) == 0
    capsys.readouterr()
    assert main(["--json", *base]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tiles"] == 1 and result["path"].endswith("loras/deco.safetensors")
    assert main(["--json", "lora", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)["loras"]
    assert [(x["name"], x["trigger_words"], x["family"]) for x in listed] == [("deco", ["tsr deco"], "sd15")]
    assert listed[0]["training"]["tiles"][0]["repeat"] == "half-drop"
    assert listed[0]["preview"] == result["preview"] and result["preview"].endswith("deco.preview.png")
    assert main([*base]) == 2  # the name is taken now
    assert "already a LoRA" in capsys.readouterr().err
    # and Generate draws with it, its trigger word in the prompt
    out = tmp_path / "out"
    assert main(["--json", "generate", "--engine", "diffusion", "--model", str(model), "--prompt", "fans",
                 "--lora", result["path"] + ":0.8", "--size", "32", "--steps", "2", "--out", str(out)]) == 0
    tile = json.loads(capsys.readouterr().out)["tiles"][0]
    assert "tsr deco" in tile["prompt_used"] and tile["loras"][0]["sha256"] == result["sha256"]


def test_the_unet_trains_through_the_repeat_so_the_loss_does_not_depend_on_the_origin(model, tiles):
    """With the repeat padding on, a tile seen from another origin (a translation the UNet's
    downsampling keeps) is the same plane, so it gives the same loss; with zero padding it does not."""
    engine = DiffusionEngine.load(str(model), EngineOptions(device="cpu"))
    trainer = LoraTrainer(engine.pipe, "sd15", request(model, tiles[1:2]), "cpu", "float32")
    trainer.prepare()
    tile = trainer.tiles[0]
    assert tile.repeat is Repeat.HALF_DROP
    cond = trainer.captions[tile.caption]
    torch.manual_seed(0)
    noise, t = torch.randn(tile.mean.shape), torch.tensor([300])
    with torch.no_grad():
        here = trainer.loss(tile.mean, cond, tile.repeat, tile.size, noise, t)
        there = trainer.loss(shifted(tile.mean, tile.repeat, 6, 4), cond, tile.repeat, tile.size,
                             shifted(noise, tile.repeat, 6, 4), t)
        assert abs(float(here - there)) < 1e-4 * float(here)
        trainer.pad = lambda repeat: None  # zero padding, as a trainer that ignores the repeat would
        trainer.padded = None
        from desktop.engine.diffusion.padding import restore_padding

        restore_padding(engine.pipe.unet)
        flat_here = trainer.loss(tile.mean, cond, tile.repeat, tile.size, noise, t)
        flat_there = trainer.loss(shifted(tile.mean, tile.repeat, 6, 4), cond, tile.repeat, tile.size,
                                  shifted(noise, tile.repeat, 6, 4), t)
        assert abs(float(flat_here - flat_there)) > 1e-3 * float(flat_here)
    trainer.detach()


def test_an_sdxl_lora_trains_with_its_size_conditioning_and_loads_back(tiles, tmp_path):
    from tiny_sd import tiny_sdxl_pipeline

    tiny_sdxl_pipeline(tmp_path).save_pretrained(tmp_path / "sdxl")
    result = train_lora(TrainingRequest(model=str(tmp_path / "sdxl"), name="xl", items=tiles[:2], trigger="tsr xl",
                                        steps=2, rank=2, resolution=32, out=str(tmp_path / "xl.safetensors")))
    assert result["family"] == "sdxl" and np.isfinite(result["loss"])
    spec = loras.resolve(result["path"])
    assert spec.family == "sdxl" and spec.trigger_words == ["tsr xl"]
    engine = DiffusionEngine.load(str(tmp_path / "sdxl"), EngineOptions(device="cpu"))
    engine.set_loras([spec])  # it fits the model it was trained on, every layer of it
    from peft.tuners.lora import LoraLayer

    attached = sum(isinstance(m, LoraLayer) for m in engine.pipe.unet.modules())
    assert attached == result["layers"] > 0
    assert engine.loras[0].sha256 == result["sha256"]
    # written in kohya's SDXL names, which diffusers' own loader maps back onto a stock pipeline
    from diffusers import StableDiffusionXLPipeline

    from desktop.engine.diffusion.weights import safetensors_header
    from tiny_sd import kohya_sdxl_names

    header = safetensors_header(spec.path)[0]
    assert any(k.startswith("lora_unet_input_blocks_") for k in header)
    assert not any(k.startswith("lora_unet_down_blocks_") for k in header)
    meta = header["__metadata__"]
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    assert meta["modelspec.implementation"] == "https://github.com/Stability-AI/generative-models"
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"
    stock = StableDiffusionXLPipeline.from_pretrained(str(tmp_path / "sdxl"))
    _applied_by_stock_diffusers(stock, spec.path, kohya_sdxl_names(stock.unet).__getitem__)


def test_samples_drawn_as_it_trains_reach_the_preview_and_the_last_is_kept_beside_the_lora(model, tiles, tmp_path):
    from desktop.engine.images import read_metadata
    ctx = Ctx()
    result = train_lora(request(model, tiles, steps=4, samples=2, sample_steps=2, sample_repeat="half-drop",
                                out=str(tmp_path / "deco.safetensors")), ctx)
    drawn = [p for p in ctx.previews if p.shape == (32, 32, 3)]  # the samples; the rest show them forming
    assert len(drawn) == 2 and ctx.previews[-1] is drawn[-1] and len(ctx.previews) > 2
    drawing = [m for m in ctx.messages if m and "drawing sample" in m]
    assert [m.split(", ")[0] + ", " + m.split(", ")[-1] for m in drawing] == [
        "step 2 of 4, drawing sample 1 of 2", "step 4 of 4, drawing sample 2 of 2"]  # evenly, the last at the end
    assert result["preview"] == str(tmp_path / "deco.preview.png")
    meta = read_metadata(result["preview"])
    assert meta["repeat"] == "half-drop" and meta["prompt"].startswith("tsr deco, ") and meta["lora_sample"] == "deco"


def test_running_out_of_memory_for_a_sample_keeps_training(model, tiles, tmp_path, monkeypatch):
    def oom(self, ctx=None):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(LoraTrainer, "sample", oom)
    result = train_lora(request(model, tiles, steps=4, samples=2, out=str(tmp_path / "deco.safetensors")))
    assert any("ran out of memory drawing a sample" in w for w in result["warnings"])
    assert result["preview"] is None and (tmp_path / "deco.safetensors").is_file()


def test_running_out_of_memory_trains_on_with_checkpointing_then_a_smaller_batch(model, tiles, tmp_path,
                                                                                monkeypatch):
    from diffusers import UNet2DConditionModel

    real, calls = UNet2DConditionModel.forward, []

    def forward(self, *args, **kwargs):  # the first two training steps do not fit
        calls.append(self.is_gradient_checkpointing)
        if self.training and len(calls) <= 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 3.00 GiB")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(UNet2DConditionModel, "forward", forward)
    result = train_lora(request(model, tiles, steps=3, batch_size=2, out=str(tmp_path / "deco.safetensors")))
    assert calls[:3] == [False, True, True] and len(result["loss_curve"]) == 3
    assert [w.split(";")[1].strip() for w in result["warnings"] if "out of memory" in w] == [
        "training on with gradient checkpointing (slower, far smaller).", "training on with 1 tile(s) a step."]
    calls.clear()
    monkeypatch.setattr(UNet2DConditionModel, "forward", lambda self, *a, **k: (_ for _ in ()).throw(
        torch.OutOfMemoryError("CUDA out of memory")))
    with pytest.raises(UserError, match="even one tile a step with gradient checkpointing"):
        train_lora(request(model, tiles, steps=3, out=str(tmp_path / "other.safetensors")))
    assert not (tmp_path / "other.safetensors").exists()


def test_real_seamless_textures_train_through_their_repeat(model, shared_textures, tmp_path):
    files = sorted((shared_textures / "seamless").glob("*.png"))[:2]
    items = [{"file": str(f), "caption": f.stem.replace("-", " "), "repeat": "basic"} for f in files]
    ctx = Ctx()
    result = train_lora(request(model, items, steps=3, out=str(tmp_path / "real.safetensors")), ctx)
    assert result["tiles"] == 2 and result["skipped"] == [] and np.isfinite(result["loss"])
    facts = loras.training_facts(result["path"])
    assert [t["caption"] for t in facts["tiles"]] == [f"tsr deco, {f.stem.replace('-', ' ')}" for f in files]
    assert all(t["size"] == [32, 32] for t in facts["tiles"])  # square textures at the resolution's area


def test_half_precision_trains_the_lora_in_float32_under_autocast(model, tiles, tmp_path):
    """The path a GPU takes (frozen weights in half precision, the LoRA in float32), in bfloat16 on the CPU."""
    result = train_lora(request(model, tiles, steps=3, device="cpu", precision="bfloat16",
                                out=str(tmp_path / "half.safetensors")))
    assert result["precision"] == "bfloat16" and np.isfinite(result["loss"])
    from safetensors.torch import load_file

    saved = load_file(result["path"])
    assert {str(v.dtype) for k, v in saved.items() if not k.endswith(".alpha")} == {"torch.float16"}
    engine = DiffusionEngine.load(str(model), EngineOptions(device="cpu"))
    assert engine.set_loras([result["path"]])[0].family == "sd15"
    half = DiffusionEngine.load(str(model), EngineOptions(device="cpu", dtype="bfloat16"))
    trainer = LoraTrainer(half.pipe, "sd15", request(model, tiles), "cpu", "bfloat16")
    trainer.prepare()
    assert half.pipe.unet.conv_in.weight.dtype == torch.bfloat16 and trainer.params
    assert {p.dtype for p in trainer.params} == {torch.float32}
    assert np.isfinite(trainer.step(0))
    trainer.detach()


def _applied_by_stock_diffusers(pipe, path, names):
    """Load a LoRA file with diffusers' own load_lora_weights (not Tessera's loader) and check that every
    layer in the file is on the UNet with the file's delta, up @ down x alpha / rank."""
    from peft.tuners.lora import LoraLayer
    from safetensors.torch import load_file

    state = load_file(str(path))
    pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name="stock")
    layers = {n: m for n, m in pipe.unet.named_modules() if isinstance(m, LoraLayer)}
    downs = [k for k in state if k.endswith(".lora_down.weight")]
    assert len(layers) == len(downs) > 0  # every layer of the file, and nothing else
    for path_in_unet, module in layers.items():
        kohya = names(path_in_unet)
        down, up = state[f"{kohya}.lora_down.weight"].float(), state[f"{kohya}.lora_up.weight"].float()
        scale = float(state[f"{kohya}.alpha"]) / down.shape[0]
        want = (up.flatten(1) @ down.flatten(1)) * scale
        got = module.get_delta_weight("stock").float().flatten(1)
        assert torch.allclose(got, want, atol=1e-3), path_in_unet


def test_a_trained_lora_is_complete_for_diffusers_own_loader_and_says_what_it_is(model, tiles, tmp_path):
    from diffusers import StableDiffusionPipeline

    from desktop.engine.diffusion.weights import safetensors_header

    result = train_lora(request(model, tiles, samples=1, sample_steps=2, out=str(tmp_path / "deco.safetensors")))
    path = tmp_path / "deco.safetensors"
    header = safetensors_header(path)[0]
    meta = header["__metadata__"]
    # ModelSpec, as A1111's and ComfyUI's browsers read it
    assert meta["modelspec.sai_model_spec"] == "1.0.0"
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert meta["modelspec.implementation"] == "diffusers" and meta["modelspec.title"] == "deco"
    assert meta["modelspec.resolution"] == "32x32" and meta["modelspec.trigger_phrase"] == "tsr deco"
    assert meta["modelspec.prediction_type"] == "epsilon" and "3 seamless pattern tiles" in meta["modelspec.description"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", meta["modelspec.date"])
    assert meta["modelspec.hash_sha256"] == "0x" + loras._hashes(path, 8 + int.from_bytes(path.read_bytes()[:8], "little"))[1]
    thumb = meta["modelspec.thumbnail"]
    assert thumb.startswith("data:image/jpeg;base64,") and len(thumb) < 40_000
    from PIL import Image

    assert Image.open(io.BytesIO(base64.b64decode(thumb.partition(",")[2]))).size == (32, 32)
    # kohya's, for the tag browsers
    assert json.loads(meta["ss_tag_frequency"]) == {"1_deco": {"tsr deco": 3, "stripes pattern": 2, "checks pattern": 1}}
    assert meta["ss_resolution"] == "(32, 32)" and meta["ss_base_model_version"] == "sd_v1"
    assert meta["ss_output_name"] == "deco"
    # a stock pipeline of the same model takes every tensor of it
    stock = StableDiffusionPipeline.from_pretrained(str(model), safety_checker=None)
    _applied_by_stock_diffusers(stock, path, lambda p: "lora_unet_" + p.replace(".", "_"))
    assert result["layers"] == sum(k.endswith(".lora_down.weight") for k in header if k != "__metadata__")
