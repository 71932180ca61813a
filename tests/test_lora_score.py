"""The style-consistency score: its arithmetic, and its place in the LoRA's record, its result and its
lists. (Whether a LoRA trained on one family of tiles draws closer to it than one trained on another
could not be held on the tiny pipeline: its random VAE decodes every latent to the same grey noise,
and with a VAE taught colour for 150 or 300 steps the answer went either way; see the note of #33.)"""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("peft")

from desktop.cli import main  # noqa: E402
from desktop.engine.diffusion import style_score  # noqa: E402
from desktop.engine.diffusion.training import TrainingRequest, train_lora  # noqa: E402
from tiny_sd import tiny_pipeline  # noqa: E402


def _unit(rows):
    rows = np.asarray(rows, np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_score_is_how_far_the_samples_moved_from_the_base_models_towards_the_sets_own_likeness():
    train = _unit([[1, 0.1, 0], [1, -0.1, 0], [1, 0, 0.1]])
    far = _unit([[0, 1, 0], [0, 0, 1]])
    assert style_score.score(train, far, far)["score"] == 0.0  # no move
    moved = style_score.score(train, train, far)
    assert moved["score"] > 1.0 and moved["lora"] > moved["ceiling"]  # each sample sits on a tile: past the ceiling
    halfway = _unit([[1, 1, 0], [1, 0, 1]])
    result = style_score.score(train, halfway, far)
    want = (result["lora"] - result["base"]) / (result["ceiling"] - result["base"])
    assert result["score"] == pytest.approx(want, abs=1e-4) and 0 < result["score"] < 1
    assert style_score.score(train, far, halfway)["score"] < 0  # drew further from the set than the base did
    assert "60% of the way" in style_score.sentence({"score": 0.6})
    assert "no closer" in style_score.sentence({"score": 0.001})


def test_the_score_is_kept_in_the_lora_and_shown_in_its_list(tmp_path, capsys, isolated_home):
    from desktop.engine.generate import GenerateRequest, run_generate

    tiny_pipeline(tmp_path).save_pretrained(tmp_path / "model")
    tiles = [{"file": t.path, "caption": "stripes pattern", "repeat": "basic"} for seed in (1, 2)
             for t in run_generate(GenerateRequest(style="stripes", width=64, height=64, seed=seed,
                                                   out_dir=str(tmp_path / "tiles")))]
    from desktop.library.lora_jobs import train_lora as train_scored

    result = train_scored(TrainingRequest(model=str(tmp_path / "model"), name="deco", items=tiles, steps=3, rank=2,
                                          resolution=32, samples=0, score_samples=2, sample_steps=2))
    scored = result["style_score"]
    assert set(scored) == {"score", "lora", "base", "ceiling", "embedding", "samples", "sentence"}
    assert scored["samples"] == 2 and scored["sentence"].startswith("Style consistency ")
    from desktop.engine.diffusion.loras import training_facts

    assert training_facts(result["path"])["style_score"] == scored
    assert main(["--json", "lora", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)["loras"][0]
    assert listed["style_score"] == scored["score"]
    assert main(["lora", "list"]) == 0
    assert f"style consistency {scored['score']:.2f}" in capsys.readouterr().out
    none = train_scored(TrainingRequest(model=str(tmp_path / "model"), name="plain", items=tiles, steps=2, rank=2,
                                        resolution=32, samples=0, score_samples=0))
    assert none["style_score"] is None and "style_score" not in training_facts(none["path"])
    # the engine's trainer alone has no embedding to score with (the library gives it): no score, no word
    bare = train_lora(TrainingRequest(model=str(tmp_path / "model"), name="bare", items=tiles, steps=2, rank=2,
                                      resolution=32, samples=0))
    assert bare["style_score"] is None and not any("score" in warning for warning in bare["warnings"])
