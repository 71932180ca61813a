"""The UNet's step replayed as a CUDA graph instead of launched kernel by kernel.

An eager Stable Diffusion step on a fast GPU is expected to wait on the host: the SD 1.5 UNet
dispatches about 1,600 operations a step (benchmarks/diffusion.py counts them), each from
Python, for 1.6 TFLOP of arithmetic at 512² that a Hopper GPU does in a few milliseconds. A
CUDA graph records the launches of one step once and replays them with one call, so the step
costs what the GPU needs. This is PyTorch's own
mechanism (torch.cuda.CUDAGraph, as in its "whole-network capture" recipe), applied to the
UNet's forward, eager or compiled.

How it stays correct:

- A graph replays exactly the kernels it recorded, on the same memory. So each graph belongs to
  one *key*: the shapes, dtypes and devices of the inputs, the non-tensor arguments, the repeat
  padding in force, and a version that `invalidate()` bumps (the engine calls it when LoRAs
  change: a LoRA's weight is recorded into the graph as a number).
- The inputs are copied into the graph's own tensors before each replay, and the outputs are
  copied out after it, so a caller may keep a result across steps.
- The first call with a new key runs eagerly (it is also the warm-up that CUDA graphs need);
  the second records and replays; the rest replay.
- Anything the graph cannot take runs eagerly, as before: a call with arguments it does not
  understand, inputs on different devices, or a recording that fails (an operation that talks
  to the host, say). A failed key is not tried again, and the reason is logged once.
- A graph also reads the weights where they lay when it was recorded. Moving them (`.to()` a
  device, a precision or a memory layout gives every weight new memory) drops every graph; the
  first parameter and the first convolution's weight (their memory, dtype and device) stand
  guard for that.
- At most `MAX_GRAPHS` graphs are kept (each holds the activations of one step); the least
  recently used goes first.

The recording itself is behind `Capture` so the bookkeeping above is tested on the CPU, where
`ReplayCapture` stands in for the GPU by running the recorded function on the graph's tensors.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

from desktop.jobs import JobCancelled

log = logging.getLogger("tessera.diffusion")

MAX_GRAPHS = 2
_ATOMS = (type(None), bool, int, float, str)


class Unsupported(Exception):
    """These arguments cannot go into a graph's key; the call runs eagerly."""


def _flatten(value: Any, tensors: list, path: str) -> Any:
    """A hashable description of `value`, with its tensors appended to `tensors`."""
    import torch

    if isinstance(value, torch.Tensor):
        tensors.append(value)
        return ("tensor", tuple(value.shape), str(value.dtype), str(value.device), value.requires_grad)
    if isinstance(value, _ATOMS):
        return ("value", value)
    if type(value) in (tuple, list):
        return (type(value).__name__, tuple(_flatten(v, tensors, f"{path}[{k}]") for k, v in enumerate(value)))
    if type(value) is dict:
        return ("dict", tuple((k, _flatten(v, tensors, f"{path}.{k}")) for k, v in sorted(value.items())))
    raise Unsupported(f"{path} is a {type(value).__name__}")


def _rebuild(spec: Any, tensors: Iterator) -> Any:
    """The value `_flatten` described, with the next of `tensors` in place of each original."""
    kind = spec[0]
    if kind == "tensor":
        return next(tensors)
    if kind == "value":
        return spec[1]
    if kind == "dict":
        return {k: _rebuild(v, tensors) for k, v in spec[1]}
    items = [_rebuild(v, tensors) for v in spec[1]]
    return tuple(items) if kind == "tuple" else items


def _tensors(value: Any) -> list:
    found: list = []
    _flatten(value, found, "output")
    return found


class Capture:
    """Records `run` (a function of the graph's own input tensors); returns (replay, outputs)."""

    def record(self, run: Callable[[], Any]) -> tuple[Callable[[], None], Any]:  # pragma: no cover - interface
        raise NotImplementedError


class CudaCapture(Capture):
    """torch.cuda.CUDAGraph: a warm-up on a side stream, then the recording (on the graph's own pool)."""

    def record(self, run):
        import torch

        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            run()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # thread_local: another thread's CUDA work (the library's embedder, say) neither breaks
        # the recording nor is recorded into it
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            outputs = run()
        return graph.replay, outputs


class ReplayCapture(Capture):
    """A stand-in with the same contract on any device: replay runs the function again and writes
    into the recorded outputs, so the graph's tensors behave as a CUDA graph's do."""

    def __init__(self):
        self.recorded = 0

    def record(self, run):
        self.recorded += 1
        outputs = run()
        kept = _tensors(outputs)

        def replay():
            for mine, fresh in zip(kept, _tensors(run())):
                mine.copy_(fresh)

        return replay, outputs


class _Graph:
    def __init__(self, inputs: list, replay: Callable[[], None], outputs: Any):
        self.inputs, self.replay = inputs, replay
        self.outputs: list = []
        self.output_spec = _flatten(outputs, self.outputs, "output")


class GraphedForward:
    """Stands in for `module.forward`: eager on a key's first call, a replayed graph after it."""

    def __init__(self, module: Any, capture: Capture, state: Callable[[], Any] = lambda: None):
        self.module = module
        self.replaced = module.__dict__.get("forward")  # torch.compile's module keeps its forward here
        self.eager = module.forward  # what the module ran before: its own forward, or the compiled one
        self.capture = capture
        self.state = state  # what else a graph depends on (the engine passes the repeat padding in force)
        self.graphs: OrderedDict = OrderedDict()
        self.seen: set = set()
        self.failed: dict = {}
        self.version = 0
        self.replays = 0
        self.placed: tuple | None = None  # where the guard weights lay when the graphs were recorded
        self._guards: list | None = None

    def invalidate(self) -> None:
        """Drop every graph (the weights or the modules changed)."""
        self.graphs.clear()
        self.seen.clear()
        self.failed.clear()
        self.version += 1
        self._guards = None  # LoRAs may have added parameters

    def _placement(self) -> tuple:
        if self._guards is None:
            params = list(self.module.parameters())
            self._guards = params[:1] + [p for p in params if p.dim() == 4][:1]
        return tuple((p.data_ptr(), p.dtype, p.device) for p in self._guards)

    def _key(self, args: tuple, kwargs: dict) -> tuple[Any, Any, list]:
        """(key, the arguments' spec, their tensors); the weights' dtype is guarded by _placement."""
        import torch

        if kwargs.get("return_dict", True):
            raise Unsupported("a dataclass output")  # diffusers' pipelines ask for return_dict=False
        tensors: list = []
        spec = (_flatten(args, tensors, "args"), _flatten(kwargs, tensors, "kwargs"))
        if len({t.device for t in tensors}) != 1:
            raise Unsupported("inputs on several devices")
        if torch.is_grad_enabled() or any(t.requires_grad for t in tensors):
            raise Unsupported("gradients are on")
        return (self.version, self.state(), spec), spec, tensors

    def __call__(self, *args, **kwargs):
        placed = self._placement()
        if placed != self.placed:  # the weights moved: what was recorded reads the old memory
            if self.placed is not None:
                self.invalidate()
            self.placed = placed
        try:
            key, spec, tensors = self._key(args, kwargs)
        except Unsupported:
            return self.eager(*args, **kwargs)
        graph = self.graphs.get(key)
        if graph is None:
            if key in self.failed:
                return self.eager(*args, **kwargs)
            if key not in self.seen:  # a new key's first call runs eagerly (a warm-up too)
                self.seen.add(key)
                return self.eager(*args, **kwargs)
            graph = self._record(key, spec, tensors)
            if graph is None:
                return self.eager(*args, **kwargs)
        self.graphs.move_to_end(key)
        for mine, fresh in zip(graph.inputs, tensors):
            mine.copy_(fresh)
        graph.replay()
        self.replays += 1
        return _rebuild(graph.output_spec, iter([t.clone() for t in graph.outputs]))

    def _record(self, key: tuple, spec: tuple, tensors: list) -> _Graph | None:
        inputs = [t.clone() for t in tensors]

        def run():
            given = iter(inputs)
            args, kwargs = _rebuild(spec[0], given), _rebuild(spec[1], given)
            return self.eager(*args, **kwargs)

        while len(self.graphs) >= MAX_GRAPHS:  # each holds a step's activations
            self.graphs.popitem(last=False)
        try:
            replay, outputs = self.capture.record(run)
            graph = _Graph(inputs, replay, outputs)  # raises Unsupported for an output it cannot copy
        except JobCancelled:  # asked to stop while recording: not the graph's fault, try again next time
            self.seen.discard(key)
            _recover_after_failed_capture()
            raise
        except Exception as exc:  # any failure to record means: run this key eagerly
            self.failed[key] = f"{type(exc).__name__}: {exc}"
            log.warning("The UNet step could not be recorded as a CUDA graph (%s); it runs eagerly.",
                        (str(exc).splitlines() or [type(exc).__name__])[0][:200])
            _recover_after_failed_capture()
            return None
        self.graphs[key] = graph
        return graph


def _recover_after_failed_capture() -> None:
    import torch

    if torch.cuda.is_available():
        with suppress(RuntimeError):  # the failed recording's error, reported again: nothing left to do
            torch.cuda.synchronize()
        torch.cuda.empty_cache()


def attach(module: Any, capture: Capture | None = None, state: Callable[[], Any] = lambda: None) -> GraphedForward:
    """Replace `module.forward` with a GraphedForward (CUDA graphs unless `capture` says otherwise)."""
    detach(module)
    graphed = GraphedForward(module, capture or CudaCapture(), state)
    module.forward = graphed
    return graphed


def detach(module: Any) -> None:
    """Back to the forward the module had before `attach`."""
    found = module.__dict__.get("forward")
    if isinstance(found, GraphedForward):
        if found.replaced is None:
            del module.forward
        else:
            module.forward = found.replaced


def graphed(module: Any) -> GraphedForward | None:
    found = module.__dict__.get("forward")
    return found if isinstance(found, GraphedForward) else None
