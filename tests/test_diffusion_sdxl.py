"""SDXL through the same engine: a tiny random SDXL pipeline (two text encoders, size conditioning),
saved and loaded through the registry, is seamless under an offset repeat and previews with the
SDXL latent factors. Nothing is downloaded."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions  # noqa: E402
from desktop.engine.diffusion.pipeline import DiffusionRequest  # noqa: E402
from desktop.engine.diffusion.registry import describe_location  # noqa: E402
from desktop.errors import UserError  # noqa: E402
from desktop.repeat import window  # noqa: E402
from tiny_sd import tiny_sdxl_pipeline  # noqa: E402


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sdxl")
    tiny_sdxl_pipeline(folder).save_pretrained(folder / "model")
    entry = describe_location(str(folder / "model"))
    assert entry.family == "sdxl"
    return DiffusionEngine.load(entry, EngineOptions(device="cpu"))


def test_sdxl_is_seamless_under_half_brick(engine):
    request = DiffusionRequest("a tiny pattern", repeat="half-brick", width=32, height=32, steps=2,
                               guidance_scale=1.0, scheduler="ddim")
    latents = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(2))
    image = engine.generate(request, latents=latents)[0]["image"].astype(int)
    moved = engine.generate(request, latents=window(latents, "half-brick", 2, 4, 16, 16))[0]["image"].astype(int)
    assert np.abs(moved - window(image, "half-brick", 4, 8, 32, 32)).max() <= 1
    assert all(not hasattr(m, "_tessera_repeat") for m in engine.pipe.unet.modules())


def test_sdxl_batches_and_previews(engine):
    class Ctx:
        cancelled = False

        def __init__(self):
            self.previews = []

        def preview(self, image):
            self.previews.append(image)

        def progress(self, step, total=None, message=None):
            pass

        def check_cancelled(self):
            pass

    ctx = Ctx()
    results = engine.generate(DiffusionRequest("a tiny pattern", repeat="half-drop", width=32, height=32, steps=2,
                                               count=2, batch_size=2, seed=7), ctx)
    assert [r["seed"] for r in results] == [7, 8] and results[0]["image"].shape == (32, 32, 3)
    assert len(ctx.previews) == 2 and ctx.previews[0].shape == (16, 16, 3)
    assert engine.family == "sdxl"


def test_sdxl_steps_are_recorded_with_their_size_conditioning(tmp_path):
    """SDXL's UNet takes a dict of extra tensors (pooled text, size ids): they go into the recording too."""
    from desktop.engine.diffusion import graphs
    from tiny_sd import tiny_sdxl_pipeline

    engine = DiffusionEngine(tiny_sdxl_pipeline(tmp_path), family="sdxl")
    request = DiffusionRequest("a tiny pattern", negative_prompt="blur", repeat="half-drop", width=32, height=32,
                               steps=3, guidance_scale=5.0, seed=4, family="sdxl")
    expected = engine.generate(request)[0]["image"]
    capture = graphs.ReplayCapture()
    recorded = engine.use_graphs(capture)
    for _ in range(2):
        assert np.array_equal(engine.generate(request)[0]["image"], expected)
    assert capture.recorded == 1 and recorded.replays == 5 and not recorded.failed
    key = next(iter(recorded.graphs))
    assert "added_cond_kwargs" in str(key) and "time_ids" in str(key)


def test_a_lora_of_other_sizes_is_one_plain_sentence(engine, tmp_path):
    """An SD 1.5 LoRA on an SDXL model: no page of mismatched layers from diffusers, one sentence."""
    import logging

    from peft import LoraConfig, get_peft_model

    from tiny_sd import tiny_unet

    torch.manual_seed(3)
    model = get_peft_model(tiny_unet(), LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                                   target_modules=["to_k", "to_v"]))
    model.save_pretrained(str(tmp_path / "sd15-style"))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("diffusers").addHandler(handler)  # where diffusers reports each mismatched layer
    try:
        with pytest.raises(UserError, match="sd15-style does not fit this SDXL model: its layers have other sizes"):
            engine.set_loras([str(tmp_path / "sd15-style")])
    finally:
        logging.getLogger("diffusers").removeHandler(handler)
    assert not [r for r in records if "size mismatch" in r.getMessage()]
    assert engine.loras == []
