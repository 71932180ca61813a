"""A training run's loss curve and settings, written beside the LoRA as it trains.

- ``NAME.loss.csv``: step, loss, smoothed loss (the exponential average the Jobs panel shows) and
  learning rate, a row a step, appended and flushed as the run goes, so a stopped or killed run
  keeps its curve (a resumed run rewrites the rows it had, from its checkpoint, and goes on);
- ``NAME.training.json``: the settings and what the run was (the record the LoRA also carries),
  written when it ends;
- ``NAME.tensorboard/``: the same curve as TensorBoard event files, when tensorboard is installed
  (the ``tensorboard`` extra): ``tensorboard --logdir ~/.local/share/Tessera/loras``.

The progress message a step sends ("step 12 of 500, loss 0.1234") is made and read here, so the
Jobs panel's curve reads what the trainer wrote.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("tessera.training")

SMOOTHING = 0.95
_MESSAGE = re.compile(r"^step (\d+) of (\d+), loss (-?[\d.]+(?:e-?\d+)?)")


def step_message(step: int, steps: int, smooth: float) -> str:
    """What a training step says in the Jobs panel (1-based step)."""
    return f"step {step} of {steps}, loss {smooth:.4f}"


def read_step(message: str | None) -> tuple[int, float] | None:
    """(step, smoothed loss) from a step's progress message; None for any other message."""
    found = _MESSAGE.match(message or "")
    return (int(found.group(1)), float(found.group(3))) if found else None


def smoothed(losses: list[float]) -> list[float]:
    out, smooth = [], None
    for value in losses:
        smooth = value if smooth is None else SMOOTHING * smooth + (1 - SMOOTHING) * value
        out.append(smooth)
    return out


def paths(lora_path: Path) -> dict[str, Path]:
    stem = lora_path.stem
    return {"csv": lora_path.with_name(f"{stem}.loss.csv"), "settings": lora_path.with_name(f"{stem}.training.json"),
            "tensorboard": lora_path.with_name(f"{stem}.tensorboard")}


class TrainingLog:
    """The curve as it grows. Writing it never stops a run: a failed write is logged and left."""

    def __init__(self, lora_path: Path, losses: list[float], rates: list[float]):
        self.paths = paths(lora_path)
        self.smooth: float | None = None
        self._csv = None
        self._events = None
        try:
            self._csv = self.paths["csv"].open("w", encoding="utf-8", newline="")
            self._csv.write("step,loss,smoothed_loss,learning_rate\n")
        except OSError as exc:
            log.warning("the loss curve cannot be written to %s (%s)", self.paths["csv"], exc)
            self._csv = None
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
        except ImportError:
            SummaryWriter = None
        if SummaryWriter is not None:
            try:  # events past the steps a run resumes from (a killed run's last ones, an earlier run's) go
                self._events = SummaryWriter(log_dir=str(self.paths["tensorboard"]), purge_step=len(losses) + 1)
            except OSError as exc:
                log.warning("no TensorBoard events for this run (%s)", exc)
        for k, (loss, rate) in enumerate(zip(losses, rates)):  # a resumed run's steps so far (their events
            self.add(k + 1, loss, rate, flush=False, events=False)  # are in the stopped run's file)
        self.flush()

    def add(self, step: int, loss: float, rate: float, flush: bool = True, events: bool = True) -> float:
        """One step's loss and learning rate; returns the smoothed loss."""
        self.smooth = loss if self.smooth is None else SMOOTHING * self.smooth + (1 - SMOOTHING) * loss
        if self._csv is not None:
            try:
                self._csv.write(f"{step},{loss:.6g},{self.smooth:.6g},{rate:.6g}\n")
                if flush:
                    self._csv.flush()
            except OSError as exc:
                log.warning("the loss curve stops at step %d (%s)", step, exc)
                self._close_csv()
        if self._events is not None and events:
            self._events.add_scalar("loss", loss, step)
            self._events.add_scalar("loss/smoothed", self.smooth, step)
            self._events.add_scalar("learning_rate", rate, step)
        return self.smooth

    def flush(self) -> None:
        if self._csv is not None:
            try:
                self._csv.flush()
            except OSError:
                self._close_csv()
        if self._events is not None:
            self._events.flush()

    def settings(self, facts: dict[str, Any]) -> None:
        """The run's settings and record, as JSON beside the LoRA (and as TensorBoard's text)."""
        from desktop.config import atomic_write_bytes

        text = json.dumps(facts, indent=2, sort_keys=True)
        try:
            atomic_write_bytes(self.paths["settings"], text.encode("utf-8"))
        except OSError as exc:
            log.warning("the training settings cannot be written to %s (%s)", self.paths["settings"], exc)
        if self._events is not None:
            self._events.add_text("settings", f"```\n{text}\n```")

    def _close_csv(self) -> None:
        with contextlib.suppress(OSError):
            self._csv.close()
        self._csv = None

    def discard(self) -> None:
        """The curve of a run that left neither a LoRA nor a checkpoint to resume: nothing to keep it for."""
        import shutil

        self.close()
        for path in (self.paths["csv"], self.paths["settings"]):
            with contextlib.suppress(OSError):
                path.unlink()
        shutil.rmtree(self.paths["tensorboard"], ignore_errors=True)

    def close(self) -> None:
        if self._csv is not None:
            self._close_csv()
        if self._events is not None:
            self._events.close()
            self._events = None
