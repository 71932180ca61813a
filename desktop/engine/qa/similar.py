"""Near-duplicates: a hook for a similarity provider (the library plugs in), and its check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from desktop.engine.qa.report import FAIL, PASS, SKIP, CheckResult


@dataclass(frozen=True)
class SimilarItem:
    id: str
    score: float  # 1.0 = identical
    label: str = ""
    method: str = ""


class SimilarityProvider(Protocol):
    """What the near-duplicate check asks. A provider may also have `remember(image)`, which the
    generator calls with each tile of a batch it keeps (so later tiles are compared with it)."""

    def nearest(self, image: np.ndarray, k: int = 5) -> list[SimilarItem]:
        """The k library items most like `image` (HxWx3 uint8), best first."""


def check_duplicates(image: np.ndarray, provider: SimilarityProvider | None, cfg: dict) -> CheckResult:
    limit = cfg["max_similarity"]
    if provider is None:
        return CheckResult("duplicates", "Near-duplicates", SKIP, None, limit,
                           "Not compared: no library is connected to this check.")
    items = provider.nearest(image, k=5)
    top = items[0].score if items else 0.0
    listed = [{"id": i.id, "score": i.score, "label": i.label, "method": i.method} for i in items]
    if items and top > limit:
        where = "" if items[0].method == "batch" else " already in the library"
        text = f"Very like {items[0].label or items[0].id}{where} (similarity {top:.2f})."
    else:
        text = "No near-duplicates in the library." if not items else f"Closest library item {top:.2f} similar."
    return CheckResult("duplicates", "Near-duplicates", FAIL if top > limit else PASS, top, limit, text,
                       {"nearest": listed})
