"""Where the bundled resources (palettes, QA profiles, model configs) live."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """`resources/` beside the package, inside a frozen build, or TESSERA_RESOURCES."""
    override = os.environ.get("TESSERA_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
