"""The self-correcting loop: QA a tile, pick the cheapest fix, try again, keep every attempt.

A policy reads the report and chooses: even out the lighting (when the seam fails as light
banding), mend the seam, recolour to the palette, change the guidance (diffusion only), or draw a
new seed. Mends that keep the design come first; a
new seed is the last resort. The loop stops at the first pass or after `max_attempts`, and
returns the best attempt (fewest failed checks) with the whole history, so the library
can store it as provenance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.engine.qa.repair import flatten_lighting, recolour, repair_seam
from desktop.engine.qa.report import QAReport
from desktop.palettes import Palette

log = logging.getLogger(__name__)

RESEED_STRIDE = 1_000_003  # a reseed jumps far from the batch's own consecutive seeds


@dataclass
class Attempt:
    number: int
    action: str  # generate | flatten-lighting | repair-seam | recolour | guidance | reseed
    seed: int
    note: str
    report: QAReport
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "action": self.action, "seed": self.seed, "note": self.note,
                "passed": self.report.passed, "failed": self.report.failed, "settings": self.settings,
                "checks": {c.name: {"status": c.status, "score": None if c.score is None else round(c.score, 4)}
                           for c in self.report.checks}}


@dataclass
class Correction:
    image: np.ndarray
    report: QAReport
    seed: int
    attempts: list[Attempt]

    @property
    def passed(self) -> bool:
        return self.report.passed


def choose_action(report: QAReport, tried: set[str], palette: Palette | None, can_guide: bool) -> str:
    """The next fix for this candidate. `tried` holds what was already done to it."""
    failed = set(report.failed)
    seam_reasons = next((c.details.get("reasons") for c in report.checks if c.name == "seam"), None)
    if "seam" in failed and seam_reasons == ["banding"] and "flatten-lighting" not in tried:
        return "flatten-lighting"  # light banding alone: no seam mender evens out the light across the tile
    if "seam" in failed and "repair-seam" not in tried:
        return "repair-seam"
    if "palette" in failed and palette is not None and "recolour" not in tried:
        return "recolour"
    if can_guide and failed & {"palette", "contrast", "visibility"} and "guidance" not in tried:
        return "guidance"
    return "reseed"


def self_correct(generate: Callable[[int, dict[str, Any]], np.ndarray], qa: Callable[[np.ndarray], QAReport],
                 seed: int, repeat: str, palette: Palette | None = None, max_attempts: int = 4,
                 can_guide: bool = False, on_attempt: Callable[[Attempt], None] | None = None,
                 check_cancelled: Callable[[], None] | None = None,
                 mend_seam: tuple[Callable[[np.ndarray], np.ndarray], str] | None = None) -> Correction:
    """Generate at `seed`, then correct until QA passes or the attempts run out.

    `mend_seam` is (function, note) for a better seam mender than OpenCV's, such as the
    diffusion inpainter with repeat padding.
    """
    settings: dict[str, Any] = {}
    image = generate(seed, settings)
    report = qa(image)
    attempts = [Attempt(1, "generate", seed, "first try", report, dict(settings))]
    tried: set[str] = set()
    best = (image, report, seed)
    reseeds = 0
    _log(attempts[-1], on_attempt)
    while not report.passed and len(attempts) < max(1, max_attempts):
        if check_cancelled is not None:
            check_cancelled()
        action = choose_action(report, tried, palette, can_guide)
        if action == "flatten-lighting":
            image, note = flatten_lighting(image, repeat), "evened out the lighting (it banded where the tiles meet)"
        elif action == "repair-seam":
            if mend_seam is not None:
                image, note = mend_seam[0](image), mend_seam[1]
            else:
                image, note = repair_seam(image, repeat), "mended the seam"
        elif action == "recolour":
            image, note = recolour(image, palette).image, f"recoloured to {palette.name or 'the palette'}"
        elif action == "guidance":
            settings["guidance_scale"] = float(settings.get("guidance_scale", 7.0)) + 1.5
            image, note = generate(seed, settings), f"guidance raised to {settings['guidance_scale']:g}"
        else:
            reseeds += 1
            seed, tried = seed + RESEED_STRIDE * reseeds, set()
            image, note = generate(seed, settings), f"new seed {seed}"
        tried.add(action)
        report = qa(image)
        attempts.append(Attempt(len(attempts) + 1, action, seed, note, report, dict(settings)))
        _log(attempts[-1], on_attempt)
        if (report.passed, -len(report.failed)) > (best[1].passed, -len(best[1].failed)):
            best = (image, report, seed)
    return Correction(best[0], best[1], best[2], attempts)


def _log(attempt: Attempt, on_attempt: Callable[[Attempt], None] | None) -> None:
    log.info("QA attempt %d (%s, seed %d): %s", attempt.number, attempt.action, attempt.seed, attempt.report.summary())
    if on_attempt is not None:
        on_attempt(attempt)
