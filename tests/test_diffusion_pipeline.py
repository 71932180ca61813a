"""A tiny random Stable Diffusion pipeline, saved and loaded through the real loader, generating
seamless tiles with previews, seeds, latents= and cancel. Nothing is downloaded."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

from desktop.engine.diffusion.pipeline import DiffusionRequest, generate, load_pipeline  # noqa: E402
from desktop.errors import UserError  # noqa: E402
from desktop.jobs import JobQueue, JobState  # noqa: E402
from tiny_sd import tiny_pipeline  # noqa: E402


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-sd")
    tiny_pipeline(folder).save_pretrained(folder / "model")
    return folder / "model"


def test_generation_through_the_real_loader(model_folder):
    pipe = load_pipeline(model_folder)
    request = DiffusionRequest("a tiny pattern", repeat="half-drop", width=32, height=32, steps=2, count=2,
                               guidance_scale=3.0, seed=5)
    results = generate(pipe, request)
    assert [r["seed"] for r in results] == [5, 6]
    assert results[0]["image"].shape == (32, 32, 3) and results[0]["image"].dtype == np.uint8
    assert not np.array_equal(results[0]["image"], results[1]["image"])
    again = generate(pipe, DiffusionRequest("a tiny pattern", repeat="half-drop", width=32, height=32, steps=2,
                                            guidance_scale=3.0, seed=5))
    assert np.array_equal(again[0]["image"], results[0]["image"])  # a seed is a seed
    assert all(not hasattr(m, "_tessera_repeat") for m in pipe.unet.modules())  # padding restored


def test_latents_are_accepted_and_moving_them_moves_the_tile(model_folder):
    from desktop.repeat import window

    pipe = load_pipeline(model_folder)
    latents = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(3))
    request = DiffusionRequest("a tiny pattern", repeat="basic", width=32, height=32, steps=2, guidance_scale=1.0)
    image = generate(pipe, request, latents=latents)[0]["image"].astype(int)
    moved = generate(pipe, request, latents=window(latents, "basic", 4, 2, 16, 16))[0]["image"].astype(int)
    expected = window(image, "basic", 8, 4, 32, 32)
    assert np.abs(moved - expected).max() <= 1  # uint8 rounding


def test_previews_progress_and_cancel_as_a_job(model_folder):
    pipe = load_pipeline(model_folder)
    queue = JobQueue()
    seen = []
    request = DiffusionRequest("a tiny pattern", width=32, height=32, steps=3, count=1)
    job = queue.submit("diffuse", lambda ctx: generate(pipe, request, ctx), request)
    assert job.wait(60) and job.state is JobState.DONE
    snap = job.snapshot()
    assert snap.preview.shape == (16, 16, 3) and snap.progress.step == 3

    def cancel_early(ctx):
        seen.append(1)
        queue.cancel(job2)
        return generate(pipe, DiffusionRequest("x", width=32, height=32, steps=5, count=3), ctx)

    job2 = queue.submit("diffuse", cancel_early)
    assert job2.wait(60) and job2.state is JobState.CANCELLED
    queue.shutdown()


def test_bad_requests_are_clear(model_folder, tmp_path):
    pipe = load_pipeline(model_folder)
    with pytest.raises(UserError, match="even"):
        generate(pipe, DiffusionRequest("x", repeat="half-brick", width=31, height=32, steps=1))
    with pytest.raises(UserError, match="must be a multiple of 8 px for this model: 36 is not"):
        generate(pipe, DiffusionRequest("x", width=36, height=32, steps=1))
    with pytest.raises(UserError, match="unknown scheduler"):
        generate(pipe, DiffusionRequest("x", width=32, height=32, steps=1, scheduler="warp"))
    with pytest.raises(UserError, match="could not load"):
        load_pipeline(tmp_path / "nothing-here")


def test_generate_command_with_a_registered_model(model_folder, tmp_path, capsys):
    from desktop.cli import main
    from desktop.library import Library

    assert main(["models", "add", str(model_folder), "--name", "tiny"]) == 0
    capsys.readouterr()
    code = main(["generate", "--engine", "tiny", "--prompt", "gold damask", "--negative-prompt", "blur",
                 "--repeat", "half-brick", "--size", "32", "--steps", "2", "--seed", "4", "--out", str(tmp_path / "o"),
                 "--to-library", "--library", str(tmp_path / "lib"), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    tile = json.loads(out.out)["tiles"][0]
    assert tile["engine"] == "diffusion" and tile["model"] == "tiny" and tile["prompt"] == "gold damask"
    from PIL import Image

    with Image.open(tile["path"]) as img:
        assert img.text["parameters"].startswith("gold damask\nNegative prompt: blur\nSteps: 2, Sampler: DDIM")
    with Library(tmp_path / "lib") as lib:
        prov = lib.get(tile["library_id"])["provenance"]
        assert prov["engine"] == "diffusion" and prov["seed"] == 4 and prov["prompt"] == "gold damask"
        assert prov["model"] == "tiny" and len(prov["model_hash"]) == 64 and prov["steps"] == 2
    # A1111's own sampler names, written, read back to Tessera's keys, and taken on the command line
    from desktop.library.metadata_chunks import parse_a1111

    assert main(["generate", "--engine", "tiny", "--prompt", "gold damask", "--scheduler", "Euler a", "--size", "32",
                 "--steps", "2", "--out", str(tmp_path / "a"), "--json"]) == 0
    tile = json.loads(capsys.readouterr().out)["tiles"][0]
    assert tile["scheduler"] == "euler-a"
    with Image.open(tile["path"]) as img:
        assert ", Sampler: Euler a, " in img.text["parameters"]
        assert parse_a1111(img.text["parameters"])["scheduler"] == "euler-a"
    assert main(["generate", "--engine", "tiny", "--prompt", "x", "--scheduler", "LMS Karras", "--size", "32",
                 "--out", str(tmp_path / "p")]) == 2
    assert "unknown scheduler 'LMS Karras'" in capsys.readouterr().err
    assert main(["generate", "--engine", "tiny", "--size", "32", "--out", str(tmp_path / "p")]) == 2
    assert "needs a prompt" in capsys.readouterr().err
    assert main(["generate", "--engine", "nope", "--prompt", "x", "--out", str(tmp_path / "p")]) == 2
    assert "no model called" in capsys.readouterr().err


def test_the_window_generates_with_a_registered_model(model_folder, qtbot, qapp):
    pytest.importorskip("pytestqt")
    from desktop.config import resolve_paths
    from desktop.engine.diffusion.registry import ModelRegistry
    from desktop.ui.app import create_window

    ModelRegistry(resolve_paths().config_dir / "models.json").add(str(model_folder), name="tiny")
    win = create_window(qapp, show_crash_dialogs=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.lib is not None, timeout=30_000)
    brief = win.brief
    brief.engine.setCurrentIndex(brief.engine.findData("tiny"))
    assert brief.diffusion_box.isVisibleTo(win) and not brief.options_box.isVisibleTo(win)
    brief.prompt.setText("gold damask")
    brief.steps.setValue(2)
    brief.width_spin.setValue(32)
    brief.height_spin.setValue(32)
    brief.repeat.setCurrentIndex(brief.repeat.findData("half-drop"))
    brief.request_generate()
    qtbot.waitUntil(lambda: win.lib.count() == 1 and win.library.count() == 1, timeout=60_000)
    item = win.lib.get(win.lib.list()[0]["id"])
    assert item["provenance"]["prompt"] == "gold damask" and item["repeat"] == "half-drop"
    # variations of the selected tile (Tile > Variations), into the library with their parent
    win.library.select_row(0)
    qtbot.waitUntil(lambda: win.current is not None and win.current.pattern_id == item["id"], timeout=30_000)
    assert brief.build_request().diffusion.loras == []
    win.tile_actions._from_current(strength=0.5, count=1)
    qtbot.waitUntil(lambda: win.lib.count() == 2, timeout=60_000)
    child = win.lib.get(max(p["id"] for p in win.lib.list()))
    assert child["provenance"]["parents"] == [item["id"]] and child["repeat"] == "half-drop"
    win.shutdown()
    win.crash_reporter.uninstall()


def test_cancel_stops_inside_a_step_and_skips_the_decode(model_folder):
    """A cancel asked during a UNet step stops at its next block; the VAE never decodes."""
    pipe = load_pipeline(model_folder)
    queue = JobQueue()
    calls = {"down": 0, "up": 0, "decode": 0}

    def down(module, args, output):
        calls["down"] += 1
        if calls["down"] == 2:  # halfway through the second step
            queue.cancel(job)

    hooks = [pipe.unet.down_blocks[0].register_forward_hook(down),
             pipe.unet.up_blocks[-1].register_forward_hook(lambda m, a, o: calls.__setitem__("up", calls["up"] + 1)),
             pipe.vae.decoder.register_forward_hook(lambda m, a, o: calls.__setitem__("decode", calls["decode"] + 1))]
    try:
        request = DiffusionRequest("x", width=32, height=32, steps=6, count=1)
        job = queue.submit("diffuse", lambda ctx: generate(pipe, request, ctx))
        assert job.wait(60) and job.state is JobState.CANCELLED
    finally:
        for hook in hooks:
            hook.remove()
        queue.shutdown()
    assert calls == {"down": 2, "up": 1, "decode": 0}  # the second step never reached its last block
    assert not any(module._forward_pre_hooks for module in pipe.unet.modules())  # the cancel points are gone


class Recording:
    """A job context that keeps every progress report."""

    cancelled = False

    def __init__(self):
        self.reports, self.previews = [], 0

    def progress(self, step, total=None, message=None):
        self.reports.append((step, total, message))

    def preview(self, image):
        self.previews += 1

    def check_cancelled(self):
        pass


def test_a_batch_fills_one_bar_and_names_the_tile_and_the_step(model_folder):
    """Two tiles of three steps: one bar from 0 to the end, each tile's steps inside its share."""
    from desktop.engine.generate import GenerateRequest, ModelSettings, run_generate

    ctx = Recording()
    tiles = run_generate(GenerateRequest(engine="diffusion", prompt="x", width=32, height=32, count=2, seed=1,
                                         diffusion=ModelSettings(model=str(model_folder), steps=3)), ctx)
    assert len(tiles) == 2 and ctx.previews >= 6
    steps = [step for step, _, _ in ctx.reports]
    assert steps == sorted(steps) and steps[-1] == ctx.reports[-1][1] == 200  # never back to zero
    messages = [m for _, _, m in ctx.reports]
    assert "model 1 of 2 · loading the model" in messages or "model 1 of 2" in messages
    assert "model 1 of 2 · step 3 of 3" in messages and "model 2 of 2 · step 1 of 3" in messages


def test_a_batched_render_fills_the_bar_once(model_folder):
    """Rendered two at a time, then checked one by one: the bar still only moves forward."""
    from desktop.engine.generate import GenerateRequest, Machine, ModelSettings, run_generate

    ctx = Recording()
    run_generate(GenerateRequest(engine="diffusion", prompt="x", width=32, height=32, count=2, seed=1,
                                 diffusion=ModelSettings(model=str(model_folder), steps=2), machine=Machine(batch_size=2)),
                 ctx)
    steps = [step for step, _, _ in ctx.reports]
    assert steps == sorted(steps) and steps[-1] == 200 and max(steps[:-2]) <= 195
    assert any("images 1-2 of 2, step 2 of 2" in (m or "") for _, _, m in ctx.reports)


def test_switching_models_frees_the_first_before_the_second_loads(model_folder, tmp_path, monkeypatch):
    """One model in memory at a time: the old engine (its recorded steps refer back to its UNet, a
    cycle) is collected before the next model is read, so two never share the GPU's memory."""
    import shutil
    import weakref

    from desktop.engine import generate
    from desktop.engine.diffusion import graphs
    from desktop.engine.diffusion.engine import DiffusionEngine

    generate.release_engines()
    shutil.copytree(model_folder, tmp_path / "other")
    request = generate.GenerateRequest(engine="diffusion", prompt="x", width=32, height=32,
                                       diffusion=generate.ModelSettings(model=str(model_folder), steps=1))
    first = generate.diffusion_engine(request.validated())
    graphs.attach(first.pipe.unet, graphs.ReplayCapture())  # the cycle a recorded step makes
    gone = weakref.ref(first.pipe.unet)  # what holds the memory
    del first
    real, alive_at_load = DiffusionEngine.load, []

    def load(model, options=None):
        alive_at_load.append(gone() is not None)
        return real(model, options)

    monkeypatch.setattr(DiffusionEngine, "load", load)
    second = generate.diffusion_engine(request.with_flat(model=str(tmp_path / "other")).validated())
    assert alive_at_load == [False] and second.pipe is not None
    generate.release_engines()


def test_the_requested_device_reaches_the_engine(model_folder, monkeypatch, tmp_path, capsys):

    from desktop.cli import main
    from desktop.engine import generate
    from desktop.engine.diffusion.engine import DiffusionEngine

    generate.release_engines()
    seen = []
    real = DiffusionEngine.load
    monkeypatch.setattr(DiffusionEngine, "load", lambda model, options=None: seen.append(options) or real(model, options))
    request = generate.GenerateRequest(engine="diffusion", prompt="x", width=32, height=32,
                                       diffusion=generate.ModelSettings(model=str(model_folder), steps=1),
                                       machine=generate.Machine(device="cpu", precision="float32"))
    engine = generate.diffusion_engine(request.validated())
    assert (seen[-1].device, seen[-1].dtype) == ("cpu", "float32")
    assert not any("No CUDA GPU found" in w for w in engine.warnings)  # asked for: no warning
    auto = generate.diffusion_engine(request.with_flat(device="").validated())  # another engine
    assert seen[-1].device is None and auto is not engine
    with pytest.raises(UserError, match="unknown device"):
        request.with_flat(device="tpu").validated()
    assert main(["generate", "--engine", "diffusion", "--model", str(model_folder), "--prompt", "x",
                 "--size", "32", "--steps", "1", "--device", "cpu", "--out", str(tmp_path / "o")]) == 0
    assert seen[-1].device == "cpu"
    assert main(["generate", "--engine", "diffusion", "--model", str(model_folder), "--prompt", "x",
                 "--size", "32", "--device", "gpu", "--out", str(tmp_path / "o")]) == 2
    assert "unknown device 'gpu'" in capsys.readouterr().err
    generate.release_engines()


def test_a_hub_id_that_is_not_downloaded_says_so_offline(monkeypatch, tmp_path):
    """The tests run with TESSERA_OFFLINE=1: a hub id is looked for in the cache only, and its absence
    is one sentence saying what to do (no network is tried)."""
    from desktop.engine.diffusion.engine import DiffusionEngine

    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    with pytest.raises(UserError, match=r"studio/house-sd15 is not downloaded yet and downloads are off .*"
                                        r"add a local copy"):
        DiffusionEngine.load("studio/house-sd15")
    with pytest.raises(UserError, match="could not load the model at"):  # a folder that is not a model
        load_pipeline(tmp_path)


def test_a_model_replaced_in_place_is_loaded_again(model_folder, tmp_path):
    import os
    import shutil

    from desktop.engine import generate

    generate.release_engines()
    folder = tmp_path / "house"
    shutil.copytree(model_folder, folder)
    valid = generate.GenerateRequest(engine="diffusion", prompt="x", width=32, height=32,
                                     diffusion=generate.ModelSettings(model=str(folder), steps=1)).validated()
    first = generate.diffusion_engine(valid)
    assert generate.diffusion_engine(valid) is first  # unchanged: kept
    config = folder / "unet" / "config.json"
    newest = max(f.stat().st_mtime_ns for f in folder.rglob("*") if f.is_file())  # (the weights may be later)
    os.utime(config, ns=(config.stat().st_atime_ns, newest + 10**9))  # a new version: the newest file
    second = generate.diffusion_engine(valid)
    assert second is not first
    generate.release_engines()
