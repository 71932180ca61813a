"""QA results: one CheckResult per check, gathered in a JSON-serialisable QAReport.

Thresholds come from QA profiles in resources/qa_profiles/ (default.json holds every key;
other profiles override some), and a brief can override any of them again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.errors import UserError
from desktop.resources import resources_dir

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class CheckResult:
    """One check: a score against a threshold, a verdict, words, and an overlay (HxW, 0..1)."""

    name: str
    label: str
    status: str  # pass | fail | skip
    score: float | None
    threshold: float | None
    explanation: str
    details: dict[str, Any] = field(default_factory=dict)
    # the overlay, aligned to the image, or a function that makes it: most overlays are drawn
    # from the check's small analysis copy and only scaled to the image when someone looks
    overlay_source: np.ndarray | Callable[[], np.ndarray] | None = None  # never serialised

    @property
    def overlay(self) -> np.ndarray | None:
        """The overlay (HxW, 0..1) aligned to the image, made on first use."""
        source = self.overlay_source
        if callable(source):
            source = self.overlay_source = source()
        return source

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "status": self.status,
                "score": _round(self.score), "threshold": _round(self.threshold),
                "explanation": self.explanation, "details": _jsonable(self.details),
                "has_overlay": self.overlay_source is not None}


@dataclass
class QAReport:
    width: int
    height: int
    repeat: str
    profile: str
    checks: list[CheckResult]
    elapsed_ms: float = 0.0
    source: str | None = None
    judged_at: list[int] | None = None  # [w, h] of the reduced copy a large image was judged on

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if check.status == FAIL]

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def overlays(self) -> dict[str, np.ndarray]:
        """Every check's overlay at the image's size (made now, if they were not yet)."""
        return {c.name: c.overlay for c in self.checks if c.overlay_source is not None}

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "size": [self.width, self.height], "repeat": self.repeat,
                "profile": self.profile, "passed": self.passed, "failed": self.failed,
                "elapsed_ms": round(self.elapsed_ms, 1), "checks": [c.as_dict() for c in self.checks],
                **({"judged_at": self.judged_at} if self.judged_at else {})}

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL (" + ", ".join(self.failed) + ")"
        return f"{verdict}: " + "; ".join(f"{c.label} {c.status}" for c in self.checks)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 4)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def profile_names() -> list[str]:
    return sorted(p.stem for p in (resources_dir() / "qa_profiles").glob("*.json"))


_profiles: dict[tuple[str, int, int], dict[str, Any]] = {}


def _read_profile(name: str) -> dict[str, Any]:
    """A profile file, parsed once for each version of the file (its mtime and size)."""
    path = resources_dir() / "qa_profiles" / f"{name}.json"
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or not path.is_file():
        raise UserError(f"unknown QA profile '{name}' (profiles: {', '.join(profile_names())})")
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _profiles:
        try:
            _profiles[key] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UserError(f"QA profile {path} is not valid JSON: {exc}") from None
    return _profiles[key]  # shared: load_profile hands out copies


def _copied(value: Any) -> Any:
    """A copy of parsed JSON (dicts, lists, scalars): deepcopy's result, several times faster."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def merge(base: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any]:
    out = _copied(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_profile(name: str = "default", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default profile, overlaid by `name`, overlaid by a brief's `overrides`."""
    profile = _read_profile("default")
    if name != "default":
        profile = merge(profile, _read_profile(name))
    profile = merge(profile, overrides)
    profile["name"] = name
    return profile
