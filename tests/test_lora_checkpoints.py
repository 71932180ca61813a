"""Checkpoints of a LoRA training run on a tiny random pipeline: a stopped run resumes to the weights
an uninterrupted one reaches, a process killed while saving leaves the checkpoint before it usable,
only the last K are kept, a finished run removes them, and a checkpoint of another run is refused
in one sentence."""

import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("peft")

from lora_fixtures import Ctx  # noqa: E402

from desktop.engine.diffusion import checkpoints  # noqa: E402
from desktop.engine.diffusion.training import TrainingRequest, train_lora  # noqa: E402
from desktop.errors import UserError  # noqa: E402
from desktop.jobs import JobCancelled  # noqa: E402


def request(model, tiles, out, **kw):
    base = dict(model=str(model), name="deco", items=tiles, trigger="tsr deco", steps=8, rank=4, resolution=32,
                learning_rate=1e-3, samples=0, score_samples=0, checkpoint_every=2, keep_checkpoints=3, out=str(out),
                batch_size=2)
    return TrainingRequest(**{**base, **kw})


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def _same(a, b):
    assert a.keys() == b.keys()
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    assert worst == 0.0, worst  # the same steps from the same state: bit for bit on the CPU


def test_a_stopped_run_resumes_to_the_weights_of_a_run_never_stopped(model, tiles, tmp_path):
    straight = train_lora(request(model, tiles, tmp_path / "a" / "deco.safetensors"), Ctx())
    assert not checkpoints.folder_for(tmp_path / "a" / "deco.safetensors").exists()  # a finished run's go

    path = tmp_path / "b" / "deco.safetensors"
    with pytest.raises(JobCancelled):
        train_lora(request(model, tiles, path), Ctx(stop_after=5))
    assert not path.exists()  # a stop writes no LoRA, but keeps the run: at 2, at 4, and where it stopped
    assert [step for step, _ in checkpoints.saved(checkpoints.folder_for(path))] == [2, 4, 5]
    with pytest.raises(UserError, match="stopped at step 5: resume it"):
        train_lora(request(model, tiles, path), Ctx())  # a fresh start would mix two runs' checkpoints

    resumed = train_lora(request(model, tiles, path, resume=True), Ctx())
    assert resumed["resumed_from"] == 5 and straight["resumed_from"] is None
    assert resumed["loss_curve"] == straight["loss_curve"]  # the first five steps' losses came back too
    _same(_weights(path), _weights(straight["path"]))
    assert not checkpoints.folder_for(path).exists()


def test_only_the_last_checkpoints_are_kept_and_another_runs_are_refused(model, tiles, tmp_path):
    path = tmp_path / "deco.safetensors"
    with pytest.raises(JobCancelled):
        train_lora(request(model, tiles, path, checkpoint_every=1, keep_checkpoints=2), Ctx(stop_after=4))
    assert [step for step, _ in checkpoints.saved(checkpoints.folder_for(path))] == [3, 4]
    with pytest.raises(UserError, match="of another training"):
        train_lora(request(model, tiles, path, learning_rate=2e-3, resume=True), Ctx())
    with pytest.raises(UserError, match="no stopped run of fresh to resume"):
        train_lora(request(model, tiles, tmp_path / "fresh.safetensors", resume=True), Ctx())
    with pytest.raises(UserError, match="kept"):
        request(model, tiles, path, keep_checkpoints=0).check()


_KILLED_MID_SAVE = """
import os, sys, time
sys.path.insert(0, sys.argv[4])
from desktop.engine.diffusion.training import TrainingRequest, train_lora
from test_lora_checkpoints import request
import desktop.config as config

real_fsync, saves = os.fsync, []

def fsync(fd):  # the third checkpoint's bytes are in its temporary file when the process dies
    name = os.readlink(f"/proc/self/fd/{fd}")
    if ".step-" in name and name.endswith(".tmp"):
        saves.append(name)
        if len(saves) == 3:
            print("MID-SAVE", flush=True)
            time.sleep(600)
    return real_fsync(fd)

config.os.fsync = fsync
import pathlib
train_lora(request(sys.argv[1], __import__("json").loads(sys.argv[2]), pathlib.Path(sys.argv[3]),
                   checkpoint_every=1, steps=8))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/fd")
def test_a_process_killed_while_saving_leaves_the_checkpoint_before_it_usable(model, tiles, tmp_path):
    import json

    from conftest import ROOT, subprocess_env

    path = tmp_path / "deco.safetensors"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_MID_SAVE, str(model), json.dumps(tiles), str(path),
                              str(ROOT / "tests")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT, env=subprocess_env())
    try:
        deadline = time.monotonic() + 240
        line = ""
        while "MID-SAVE" not in line and time.monotonic() < deadline and child.poll() is None:
            line = child.stdout.readline()
        assert "MID-SAVE" in line, child.stderr.read()[-2000:] if child.poll() is not None else "no save seen"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    folder = checkpoints.folder_for(path)
    assert [step for step, _ in checkpoints.saved(folder)] == [1, 2]
    assert list(folder.glob(".step-000003.safetensors.*.tmp"))  # the save it was killed in

    resumed = train_lora(request(model, tiles, path, checkpoint_every=1, steps=8, resume=True), Ctx())
    assert resumed["resumed_from"] == 2
    straight = train_lora(request(model, tiles, tmp_path / "straight" / "deco.safetensors", steps=8), Ctx())
    _same(_weights(path), _weights(straight["path"]))
    assert not folder.exists()  # done: the checkpoints and the killed save's leftover are gone


def _csv(path):
    import csv

    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _events(folder):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    runs = EventMultiplexer().AddRunsFromDirectory(str(folder))
    runs.Reload()
    (run,) = runs.Runs()
    return {tag: [(e.step, e.value) for e in runs.Scalars(run, tag)] for tag in ("loss", "learning_rate")}


def test_the_loss_curve_and_settings_are_written_beside_the_lora_and_a_resumed_run_keeps_one_curve(model, tiles,
                                                                                                   tmp_path):
    import json

    from desktop.engine.diffusion import training_log

    cosine = {"lr_schedule": "cosine", "warmup_steps": 2}
    straight = train_lora(request(model, tiles, tmp_path / "a" / "deco.safetensors", **cosine), Ctx())
    rows = _csv(tmp_path / "a" / "deco.loss.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    losses = [float(r["loss"]) for r in rows]
    assert losses == pytest.approx(straight["loss_curve"], abs=1e-5)
    assert [float(r["smoothed_loss"]) for r in rows] == pytest.approx(training_log.smoothed(losses), rel=1e-4)
    rates = [float(r["learning_rate"]) for r in rows]
    assert rates[0] < rates[1] and rates[-1] < rates[1]  # warm-up, then the cosine falls
    settings = json.loads((tmp_path / "a" / "deco.training.json").read_text())
    assert settings["lr_schedule"] == "cosine" and settings["rank"] == 4 and settings["sha256"] == straight["sha256"]
    events = _events(tmp_path / "a" / "deco.tensorboard")
    assert [s for s, _ in events["loss"]] == list(range(1, 9))
    assert [v for _, v in events["loss"]] == pytest.approx(losses, rel=1e-5)

    path = tmp_path / "b" / "deco.safetensors"
    with pytest.raises(JobCancelled):
        train_lora(request(model, tiles, path, **cosine), Ctx(stop_after=5))
    assert [int(r["step"]) for r in _csv(tmp_path / "b" / "deco.loss.csv")] == [1, 2, 3, 4, 5]
    train_lora(request(model, tiles, path, **cosine, resume=True), Ctx())
    resumed = _csv(tmp_path / "b" / "deco.loss.csv")
    assert [int(r["step"]) for r in resumed] == list(range(1, 9))  # one curve, each step once
    assert [float(r["loss"]) for r in resumed] == pytest.approx(losses, abs=1e-5)
    assert [float(r["learning_rate"]) for r in resumed] == pytest.approx(rates, rel=1e-4)
    events = _events(tmp_path / "b" / "deco.tensorboard")
    assert [s for s, _ in events["loss"]] == list(range(1, 9))


def test_a_steps_progress_message_is_read_back_as_the_jobs_panel_reads_it():
    from desktop.engine.diffusion.training_log import read_step, step_message

    assert read_step(step_message(12, 500, 0.123456)) == (12, 0.1235)
    assert read_step("step 3 of 9, loss 1.2e-05, drawing sample 1 of 2") == (3, 1.2e-05)
    assert read_step("writing the LoRA") is None and read_step(None) is None
