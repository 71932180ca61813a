"""Recorded UNet steps (graphs.py) on a tiny random pipeline, on the CPU.

CUDA graphs need a GPU; what decides whether a recorded step is right does not: which key a
call belongs to, that the inputs reach the graph's own tensors before each replay, that the
outputs are copied out, that LoRAs, the repeat and the size each get their own recording, and
that a step that cannot be recorded runs eagerly. `ReplayCapture` keeps the CUDA graph's
contract (the recorded function runs on the graph's tensors, outputs land in the recorded
ones), so these tests hold the bookkeeping to the eager pictures bit for bit.
"""

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from desktop.engine.diffusion import graphs  # noqa: E402
from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions  # noqa: E402
from desktop.engine.diffusion.pipeline import DiffusionRequest, free_memory  # noqa: E402
from tiny_sd import tiny_pipeline, tiny_unet  # noqa: E402


def request(**kw):
    base = dict(prompt="a tiny pattern", negative_prompt="blur", width=32, height=32, steps=3, guidance_scale=7.0,
                seed=3, repeat="half-drop")
    return DiffusionRequest(**{**base, **kw})


@pytest.fixture
def engine(tmp_path):
    return DiffusionEngine(tiny_pipeline(tmp_path))


def eager_and_graphed(engine, req, capture=None):
    """The eager picture, then the engine with recorded steps and its picture."""
    expected = engine.generate(req)[0]["image"]
    capture = capture or graphs.ReplayCapture()
    recorded = engine.use_graphs(capture)
    return expected, recorded, capture, engine.generate(req)[0]["image"]


def test_recorded_steps_give_the_eager_picture(engine):
    expected, recorded, capture, got = eager_and_graphed(engine, request())
    assert np.array_equal(got, expected)
    # step 1 eager (the warm-up), step 2 recorded and replayed, step 3 replayed
    assert capture.recorded == 1 and recorded.replays == 2
    again = engine.generate(request())[0]["image"]
    assert np.array_equal(again, expected) and capture.recorded == 1 and recorded.replays == 5
    # a different seed is new inputs, not a new graph: the inputs are copied in before each replay
    other = engine.generate(request(seed=9))[0]["image"]
    graphs.detach(engine.pipe.unet)
    assert np.array_equal(other, engine.generate(request(seed=9))[0]["image"])
    assert not np.array_equal(other, expected) and capture.recorded == 1


def test_each_repeat_and_size_is_its_own_recording_and_old_ones_are_let_go(engine):
    pictures = {}
    for repeat, size in [("half-drop", 32), ("basic", 32), ("half-drop", 48)]:
        pictures[repeat, size] = engine.generate(request(repeat=repeat, width=size, height=size))[0]["image"]
    capture = graphs.ReplayCapture()
    recorded = engine.use_graphs(capture)
    for key, expected in pictures.items():
        for _ in range(2):  # the second time every step is a replay
            got = engine.generate(request(repeat=key[0], width=key[1], height=key[1]))[0]["image"]
            assert np.array_equal(got, expected), key
    assert capture.recorded == 3 and len(recorded.graphs) == graphs.MAX_GRAPHS
    # no padding at all (a plain call) is a key of its own too
    states = {key[1] for key in recorded.seen}
    assert {("half-drop", "xy"), ("basic", "xy")} <= {(str(s[0]), s[1]) for s in states if s}


def test_changing_the_loras_records_again(engine, tmp_path):
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig, get_peft_model
    from peft.utils import get_peft_model_state_dict

    pytest.importorskip("peft")
    torch.manual_seed(5)
    config = LoraConfig(r=4, lora_alpha=8, init_lora_weights=False, target_modules=["to_q", "to_v", "conv1"])
    model = get_peft_model(tiny_unet(), config)
    state = {k.removeprefix("base_model.model."): v for k, v in get_peft_model_state_dict(model).items()}
    StableDiffusionPipeline.save_lora_weights(tmp_path / "lora", unet_lora_layers=state,
                                              unet_lora_adapter_metadata=config.to_dict())
    lora = tmp_path / "lora" / "pytorch_lora_weights.safetensors"
    eager = {}
    for weight in ("1.0", "0.25"):
        engine.set_loras([f"{lora}:{weight}"])
        eager[weight] = engine.generate(request())[0]["image"]
    engine.set_loras([])
    eager["none"] = engine.generate(request())[0]["image"]
    capture = graphs.ReplayCapture()
    recorded = engine.use_graphs(capture)
    for weight in ("1.0", "0.25", "none"):
        engine.set_loras([] if weight == "none" else [f"{lora}:{weight}"])
        for _ in range(2):
            assert np.array_equal(engine.generate(request())[0]["image"], eager[weight]), weight
    assert capture.recorded == 3 and recorded.version == 3
    assert not np.array_equal(eager["1.0"], eager["0.25"])


class Refuses(graphs.Capture):
    def __init__(self):
        self.tries = 0

    def record(self, run):
        self.tries += 1
        raise RuntimeError("operation not permitted when stream is capturing")


def test_a_step_that_cannot_be_recorded_runs_eagerly_and_is_not_tried_again(engine, caplog):
    caplog.set_level(logging.WARNING, "tessera.diffusion")
    capture = Refuses()
    expected, recorded, _, got = eager_and_graphed(engine, request(), capture)
    assert np.array_equal(got, expected)
    assert np.array_equal(engine.generate(request())[0]["image"], expected)
    assert capture.tries == 1 and len(recorded.failed) == 1 and recorded.replays == 0
    assert "could not be recorded as a CUDA graph" in caplog.text and "not permitted" in caplog.text


def test_calls_a_graph_cannot_take_run_eagerly(engine):
    capture = graphs.ReplayCapture()
    recorded = engine.use_graphs(capture)
    unet = engine.pipe.unet
    x, text = torch.randn(1, 4, 4, 4), torch.randn(1, 7, 32)
    with torch.no_grad():
        for _ in range(3):  # a dataclass result (return_dict=True) is not recorded
            assert unet(x, torch.tensor(10), encoder_hidden_states=text).sample.shape == x.shape
        for _ in range(3):  # an object the key cannot hold
            unet(x, torch.tensor(10), encoder_hidden_states=text, cross_attention_kwargs={"x": object()},
                 return_dict=False)
    for _ in range(3):  # gradients on (training, say)
        unet(x, torch.tensor(10), encoder_hidden_states=text, return_dict=False)
    assert capture.recorded == 0 and recorded.replays == 0 and not recorded.seen


def test_moving_the_weights_records_again(engine):
    """A recorded step reads the weights where they lay; a new layout (or device, or precision) moves them."""
    expected = engine.generate(request())[0]["image"]
    capture = graphs.ReplayCapture()
    recorded = engine.use_graphs(capture)
    engine.generate(request())
    replays = recorded.replays
    engine.pipe.unet.to(memory_format=torch.channels_last)
    try:
        assert np.array_equal(engine.generate(request())[0]["image"], expected)
        # dropped at once: the first step eagerly, the second recorded where the weights now lie
        assert capture.recorded == 2 and recorded.version == 1 and recorded.replays == replays + 2
        engine.generate(request())
        assert capture.recorded == 2  # and it stays recorded where they now lie
    finally:
        engine.pipe.unet.to(memory_format=torch.contiguous_format)


def test_running_out_of_memory_lets_the_recordings_go(engine):
    capture = graphs.ReplayCapture()
    recorded = engine.use_graphs(capture)
    engine.generate(request())
    assert recorded.graphs
    free_memory(engine.pipe)
    assert not recorded.graphs and recorded.version == 1
    engine.generate(request())
    assert capture.recorded == 2


def test_the_cpu_engine_records_nothing_and_detach_puts_the_forward_back(tmp_path):
    tiny_pipeline(tmp_path).save_pretrained(tmp_path / "model")
    engine = DiffusionEngine.load(str(tmp_path / "model"), EngineOptions(device="cpu"))
    assert graphs.graphed(engine.pipe.unet) is None  # CUDA graphs are for CUDA
    engine.use_graphs(graphs.ReplayCapture())
    assert graphs.graphed(engine.pipe.unet) is not None
    graphs.detach(engine.pipe.unet)
    assert graphs.graphed(engine.pipe.unet) is None and "forward" not in engine.pipe.unet.__dict__


def test_a_compiled_unet_is_recorded_too_and_keeps_its_picture(tmp_path):
    """torch.compile keeps its compiled forward on the module: the graphs replay that one."""
    tiny_pipeline(tmp_path).save_pretrained(tmp_path / "model")
    plain = DiffusionEngine.load(str(tmp_path / "model"), EngineOptions(device="cpu"))
    expected = plain.generate(request())[0]["image"]
    compiled = DiffusionEngine.load(str(tmp_path / "model"), EngineOptions(device="cpu", compile="eager"))
    unet = compiled.pipe.unet
    compiled_forward = unet.__dict__["forward"]
    capture = graphs.ReplayCapture()
    recorded = compiled.use_graphs(capture)
    assert recorded.eager == compiled_forward
    for _ in range(2):
        assert np.array_equal(compiled.generate(request())[0]["image"], expected)
    assert capture.recorded == 1 and recorded.replays == 5
    graphs.detach(unet)
    assert unet.__dict__["forward"] is compiled_forward  # the compiled forward is back
