"""The usual LoRA-training knobs, each on a tiny random pipeline: learning-rate schedules, noise
offset, caption shuffling and dropout, LoCon at its own rank, gradient checkpointing, gradient
accumulation and 8-bit AdamW's fallback; each reaches the file's record and the command line."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("peft")

from lora_fixtures import Ctx, made_tiles  # noqa: E402

from desktop.cli import main  # noqa: E402
from desktop.engine.diffusion import training_knobs  # noqa: E402
from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions  # noqa: E402
from desktop.engine.diffusion.training import LoraTrainer, TrainingRequest, train_lora  # noqa: E402
from desktop.engine.diffusion.weights import safetensors_header  # noqa: E402
from desktop.errors import UserError  # noqa: E402


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    """Tiles whose captions have tags to shuffle and drop."""
    return made_tiles(tmp_path_factory.mktemp("knob-tiles"), "{style}, bold, navy, linen")[:2]


def request(model, tiles, **kw):
    base = dict(model=str(model), name="deco", items=tiles, trigger="tsr deco", steps=4, rank=4, resolution=32,
                learning_rate=1e-3, samples=0, score_samples=0, checkpoint_every=0)
    return TrainingRequest(**{**base, **kw})


def trainer_for(model, tiles, **kw):
    engine = DiffusionEngine.load(str(model), EngineOptions(device="cpu"))
    torch.manual_seed(int(kw.get("seed", 0)))  # the LoRA's first weights, as train_lora seeds them
    trainer = LoraTrainer(engine.pipe, "sd15", request(model, tiles, **kw), "cpu", "float32")
    trainer.prepare()
    return trainer


def _curve(schedule, steps=100, warmup=10, restarts=3):
    param = torch.nn.Parameter(torch.zeros(1))
    req = TrainingRequest(model="m", name="n", steps=steps, lr_schedule=schedule, warmup_steps=warmup,
                          restarts=restarts)
    optimizer = torch.optim.AdamW([param], lr=1.0)
    curve = training_knobs.schedule(optimizer, req)
    return np.array([training_knobs.factor(curve, k, steps) for k in range(steps)])


def test_the_schedules_warm_up_then_hold_fall_or_restart():
    constant, cosine, restarts = _curve("constant"), _curve("cosine"), _curve("cosine_with_restarts")
    for curve in (constant, cosine, restarts):  # the same linear warm-up, never a step at rate 0
        assert np.allclose(curve[:9], np.arange(1, 10) / 10) and curve.min() > 0
    assert np.all(constant[9:] == 1.0)
    assert np.all(np.diff(cosine[9:]) <= 1e-12) and cosine[-1] < 0.01 and cosine[9] > 0.99
    jumps = np.flatnonzero(np.diff(restarts[9:]) > 0.5)
    assert len(jumps) == 2 and restarts[-1] < 0.05  # three cycles: two jumps back up
    # the default warm-up, as before: a tenth of the run, up to 100 steps
    assert training_knobs.warmup_steps(TrainingRequest(model="m", name="n", steps=500)) == 50
    assert training_knobs.warmup_steps(TrainingRequest(model="m", name="n", steps=5000)) == 100


def test_a_run_trains_at_its_schedules_rate(model, tiles):
    trainer = trainer_for(model, tiles, steps=6, lr_schedule="cosine", warmup_steps=2)
    rates = []
    for k in range(6):
        trainer.step(k)
        rates.append(trainer.optimizer.param_groups[0]["lr"])
    want = [1e-3 * training_knobs.factor(trainer.curve, k, 6) for k in range(6)]
    assert rates == pytest.approx(want) and rates[1] == pytest.approx(1e-3) and rates[-1] < 3e-4
    trainer.detach()


def test_captions_are_shuffled_behind_the_trigger_and_dropped_at_their_rate():
    rng = np.random.default_rng(0)
    seen = {training_knobs.caption_for("tsr deco", "fans, gold, navy", rng, True, 0.0) for _ in range(60)}
    assert len(seen) == 6 and all(c.startswith("tsr deco, ") for c in seen)  # every order, trigger first
    assert {frozenset(c.split(", ")) for c in seen} == {frozenset({"tsr deco", "fans", "gold", "navy"})}
    dropped = [training_knobs.caption_for("t", "a, b", rng, False, 0.25) == "" for _ in range(4000)]
    assert 0.22 < np.mean(dropped) < 0.28
    assert training_knobs.caption_for("t", "a, b", rng, False, 0.0) == "t, a, b"  # off: the caption as it is


def test_a_run_with_shuffled_and_dropped_captions_encodes_what_each_step_saw(model, tiles):
    trainer = trainer_for(model, tiles, steps=12, caption_shuffle=True, caption_dropout=0.3)
    for k in range(12):
        trainer.step(k)
    seen = set(trainer.encoded)
    assert "" in seen and any(c.startswith("tsr deco, ") and c != trainer.tiles[0].caption_text for c in seen)
    assert all(c == "" or c.startswith("tsr deco, ") for c in seen)
    trainer.detach()


def test_noise_offset_shifts_each_latent_channel_as_a_whole(model, tiles, monkeypatch):
    def channel_spread(offset):
        trainer = trainer_for(model, tiles, noise_offset=offset, batch_size=1)
        noises = []
        real = trainer.noise.add_noise
        monkeypatch.setattr(trainer.noise, "add_noise", lambda x, n, t: (noises.append(n), real(x, n, t))[1])
        for k in range(8):
            trainer.step(k)
        trainer.detach()
        return float(torch.cat([n.mean(dim=(2, 3)) for n in noises]).std())

    plain, offset = channel_spread(0.0), channel_spread(0.5)
    assert offset > 3 * plain  # a 16x16 latent's channel mean of plain noise spreads by about 1/16


def test_gradient_checkpointing_trains_the_same_weights_and_accumulation_adds_batches(model, tiles):
    def weights(**kw):
        trainer = trainer_for(model, tiles, seed=3, **kw)
        drawn = []
        real = trainer._batch
        trainer._batch = lambda: (drawn.append(1), real())[1]
        for k in range(3):
            trainer.step(k)
        out = {n: p.detach().clone() for n, p in trainer.pipe.unet.named_parameters() if p.requires_grad}
        checkpointing = trainer.pipe.unet.is_gradient_checkpointing
        trainer.detach()
        return out, len(drawn), checkpointing

    plain, batches, off = weights()
    saved, _, on = weights(gradient_checkpointing=True)
    assert not off and on and batches == 3
    assert max(float((plain[n] - saved[n]).abs().max()) for n in plain) < 1e-6
    accumulated, batches, _ = weights(accumulation=2)
    assert batches == 6  # two batches' gradients a step
    assert max(float((plain[n] - accumulated[n]).abs().max()) for n in plain) > 1e-6


def test_a_locon_trains_its_convolutions_at_their_rank_and_loads_back_whole(model, tiles, tmp_path):
    result = train_lora(request(model, tiles, conv_rank=2, conv_alpha=1, rank=4,
                                out=str(tmp_path / "deco.safetensors")))
    header = safetensors_header(tmp_path / "deco.safetensors")[0]
    meta = header.pop("__metadata__")
    convs = [k for k in header if "_resnets_" in k and k.endswith(".lora_down.weight")]
    assert convs and all(header[k]["shape"][0] == 2 and len(header[k]["shape"]) == 4 for k in convs)
    assert all(header[k]["shape"][0] == 4 for k in header if "_attentions_" in k and k.endswith("lora_down.weight"))
    assert json.loads(meta["ss_network_args"]) == {"conv_dim": "2", "conv_alpha": "1"}
    assert json.loads(meta["tessera.training"])["conv_rank"] == 2
    # Generate's loader takes every tensor: the LoRA changes the UNet as the trained one did
    fresh = DiffusionEngine.load(str(model), EngineOptions(device="cpu"))
    torch.manual_seed(5)
    noisy, t, text = torch.randn(1, 4, 16, 16), torch.tensor([500]), torch.randn(1, 77, 32)
    with torch.no_grad():
        plain = fresh.pipe.unet(noisy, t, text).sample
    fresh.set_loras([result["path"]])
    touched = {n.split(".lora_")[0] for n, _ in fresh.pipe.unet.named_parameters() if ".lora_" in n}
    assert any("resnets" in n and n.endswith(("conv1", "conv2")) for n in touched)
    with torch.no_grad():
        assert float((fresh.pipe.unet(noisy, t, text).sample - plain).abs().max()) > 1e-4


def test_8bit_adamw_off_cuda_trains_with_adamw_and_says_so(model, tiles, tmp_path):
    result = train_lora(request(model, tiles, optimizer="adamw8bit", out=str(tmp_path / "deco.safetensors")))
    assert "8-bit AdamW runs on a CUDA GPU only: training with AdamW." in result["warnings"]
    meta = safetensors_header(tmp_path / "deco.safetensors")[0]["__metadata__"]
    assert meta["ss_optimizer"].endswith("AdamW") and "8bit" not in meta["ss_optimizer"]
    assert json.loads(meta["tessera.training"])["optimizer"] == "adamw8bit"  # what was asked, in the record


@pytest.mark.parametrize("change, message", [
    ({"lr_schedule": "linear"}, "schedule is one of constant, cosine"),
    ({"optimizer": "lion"}, "optimizer is one of adamw, adamw8bit"),
    ({"caption_dropout": 1.0}, "caption dropout"),
    ({"conv_rank": 300}, "conv rank must be between 0 and 256"),
    ({"accumulation": 0}, "gradient accumulation must be between 1"),
])
def test_bad_knobs_are_one_sentence_before_a_model_loads(model, tiles, change, message):
    with pytest.raises(UserError, match=message):
        request(model, tiles, **change).check()


def test_the_command_line_takes_every_knob_into_the_lora_it_writes(model, tiles, tmp_path, capsys):
    from desktop.library import Library

    with Library(tmp_path / "lib") as lib:
        for item in tiles:
            from desktop.engine.images import load_rgb, read_metadata

            added = lib.add_tile(load_rgb(item["file"]), read_metadata(item["file"])).added[0]
            lib.update(added, status="approved")
    out = tmp_path / "deco.safetensors"
    assert main(["--json", "--library", str(tmp_path / "lib"), "lora", "train", "--model", str(model),
                 "--name", "deco", "--steps", "3", "--rank", "2", "--resolution", "32", "--samples", "0",
                 "--lr-schedule", "cosine_with_restarts", "--warmup-steps", "1", "--restarts", "2",
                 "--noise-offset", "0.05", "--shuffle-captions", "--caption-dropout", "0.1", "--conv-rank", "2",
                 "--gradient-checkpointing", "--accumulate", "2", "--optimizer", "adamw8bit",
                 "--train-text-encoder", "--text-encoder-lr", "3e-5",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    facts = json.loads(safetensors_header(out)[0]["__metadata__"]["tessera.training"])
    assert {k: facts[k] for k in ("lr_schedule", "warmup_steps", "restarts", "noise_offset", "caption_shuffle",
                                  "caption_dropout", "conv_rank", "gradient_checkpointing", "accumulation",
                                  "optimizer", "train_text_encoder", "text_encoder_lr")} == {
        "lr_schedule": "cosine_with_restarts", "warmup_steps": 1, "restarts": 2, "noise_offset": 0.05,
        "caption_shuffle": True, "caption_dropout": 0.1, "conv_rank": 2, "gradient_checkpointing": True,
        "accumulation": 2, "optimizer": "adamw8bit", "train_text_encoder": True, "text_encoder_lr": 3e-5}
    with pytest.raises(SystemExit) as usage:
        main(["lora", "train", "--model", str(model), "--name", "x", "--lr-schedule", "linear"])
    assert usage.value.code == 2 and "invalid choice: 'linear'" in capsys.readouterr().err


def test_a_dry_run_lists_the_set_and_flags_near_duplicates_and_tiles_that_failed_qa(tmp_path, capsys):
    """Before a night's training: each tile with its caption, the same design twice (a shifted copy, found
    by the library's layout check) and a tile whose QA failed are flagged; nothing is trained."""
    from desktop.engine import procedural
    from desktop.library import Library
    from desktop.library.training_set import review, training_items
    from desktop.palettes import parse_palette

    def tile(style, seed, palette):
        return (procedural.render(style, {}, "basic", 128, 128, parse_palette(palette), seed) * 255).astype(np.uint8)

    fans = tile("toss", 4, "#1f4e79,#f4d03f,#fdfefe")
    with Library(tmp_path / "lib") as lib:
        meta = {"style": "toss", "repeat": "basic"}
        ids = [lib.add_tile(fans, meta).added[0],
               lib.add_tile(np.ascontiguousarray(np.roll(fans, (37, 51), axis=(0, 1))), meta).added[0],
               lib.add_tile(tile("stripes", 2, "#c0392b,#fdebd0"), {
                   "style": "stripes", "repeat": "basic",
                   "qa": {"passed": False, "profile": "default", "failed": ["seam", "sharpness"]}}).added[0],
               lib.add_tile(tile("checks", 3, "#145a32,#d5f5e3"), {"style": "checks"}).added[0]]
        for pid in ids:
            lib.update(pid, status="approved")
        reviewed = {item["id"]: item["flags"] for item in review(lib, training_items(lib))}
    assert next(f for f in reviewed[ids[0]] if "same design as" in f).startswith(f"the same design as #{ids[1]}")
    assert any(f"same design as #{ids[0]}" in f for f in reviewed[ids[1]])
    assert reviewed[ids[2]] == ["failed QA (seam, sharpness)"] and reviewed[ids[3]] == []

    base = ["--library", str(tmp_path / "lib"), "lora", "train", "--model", "not-loaded", "--name", "deco",
            "--dry-run"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "! failed QA (seam, sharpness)" in out and "4 tile(s), 3 with something to look at" in out
    assert f"#{ids[3]}  basic       checks pattern" in out
    assert main(["--json", *base]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["flagged"] == 3 and len(listed["tiles"]) == 4 and listed["request"]["name"] == "deco"
    assert not (tmp_path / "tessera-home").exists() or not list((tmp_path / "tessera-home").rglob("*.safetensors"))


def _encoded(pipe, prompt="tsr deco, stripes"):
    with torch.no_grad():
        return pipe.encode_prompt(prompt, "cpu", 1, False)[0]


def test_the_text_encoder_trains_at_its_own_rate_and_its_lora_loads_back_with_the_unets(model, tiles, tmp_path):
    trainer = trainer_for(model, tiles, train_text_encoder=True, learning_rate=1e-3, steps=6)
    groups = trainer.optimizer.param_groups
    assert [g["base_lr"] for g in groups] == [1e-3, 5e-4]  # the encoder's: half the UNet's by default
    plain = _encoded(trainer.pipe)
    trainer.pipe.text_encoder.disable_adapters()
    assert torch.equal(_encoded(trainer.pipe), plain)  # (its LoRA starts as nothing)
    trainer.pipe.text_encoder.enable_adapters()
    for k in range(6):
        trainer.step(k)
    assert groups[1]["lr"] == pytest.approx(groups[0]["lr"] / 2)
    trained = _encoded(trainer.pipe)
    assert float((trained - plain).abs().max()) > 1e-4  # the captions' encoding learned too
    trainer.detach()

    result = train_lora(request(model, tiles, train_text_encoder=True, text_encoder_lr=2e-3, steps=6,
                                out=str(tmp_path / "deco.safetensors")))
    header = safetensors_header(tmp_path / "deco.safetensors")[0]
    meta = header.pop("__metadata__")
    encoder_keys = [k for k in header if k.startswith("lora_te_text_model_encoder_layers_")]
    assert encoder_keys and any(k.endswith("_self_attn_q_proj.lora_down.weight") for k in encoder_keys)
    assert meta["ss_network_train_unet_only"] == "False" and meta["ss_text_encoder_lr"] == "0.002"
    assert result["layers"] == sum(k.endswith(".lora_down.weight") for k in header)
    # Generate's loader puts the encoder's part back on the text encoder
    fresh = DiffusionEngine.load(str(model), EngineOptions(device="cpu"))
    before = _encoded(fresh.pipe)
    fresh.set_loras([result["path"]])
    assert float((_encoded(fresh.pipe) - before).abs().max()) > 1e-4


def test_a_run_training_the_text_encoder_resumes_to_the_same_weights(model, tiles, tmp_path):
    from desktop.jobs import JobCancelled

    both = {"train_text_encoder": True, "checkpoint_every": 2, "steps": 6}
    straight = train_lora(request(model, tiles, out=str(tmp_path / "a" / "deco.safetensors"), **both))
    path = tmp_path / "b" / "deco.safetensors"
    with pytest.raises(JobCancelled):
        train_lora(request(model, tiles, out=str(path), **both), Ctx(stop_after=3))
    train_lora(request(model, tiles, out=str(path), resume=True, **both))
    from safetensors.torch import load_file

    a, b = load_file(straight["path"]), load_file(str(path))
    assert a.keys() == b.keys() and any(k.startswith("lora_te_") for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_sdxl_run_trains_both_text_encoders_under_kohyas_names(tiles, tmp_path):
    from tiny_sd import tiny_sdxl_pipeline

    tiny_sdxl_pipeline(tmp_path).save_pretrained(tmp_path / "sdxl")
    result = train_lora(TrainingRequest(model=str(tmp_path / "sdxl"), name="xl", items=tiles, trigger="tsr xl",
                                        steps=2, rank=2, resolution=32, samples=0, train_text_encoder=True,
                                        out=str(tmp_path / "xl.safetensors")))
    header = safetensors_header(tmp_path / "xl.safetensors")[0]
    assert any(k.startswith("lora_te1_text_model_encoder_layers_") for k in header)
    assert any(k.startswith("lora_te2_text_model_encoder_layers_") for k in header)
    assert not any(k.startswith("lora_te_text_model") for k in header)
    engine = DiffusionEngine.load(str(tmp_path / "sdxl"), EngineOptions(device="cpu"))
    engine.set_loras([result["path"]])  # every layer of it fits, on the UNet and both encoders
    from peft.tuners.lora import LoraLayer

    on = {part: sum(isinstance(m, LoraLayer) for m in getattr(engine.pipe, part).modules())
          for part in ("unet", "text_encoder", "text_encoder_2")}
    assert all(on.values()) and sum(on.values()) == result["layers"]
