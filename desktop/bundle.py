"""What a frozen bundle (installers/tessera.spec) leaves out, how it is added back, and the sentence that says so.

The bundle carries the window, the procedural engine, QA and the library, not PyTorch and the
diffusion stack (gigabytes). TESSERA_SITE_PACKAGES names site-packages folders (os.pathsep between
them) of a Python 3.11 environment that has them; they go at the end of sys.path, after everything
bundled. Without them, what needs PyTorch says so in one sentence instead of failing on an import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from desktop.errors import UserError

ML_STACK = ("torch", "torchvision", "diffusers", "transformers", "peft", "open_clip", "accelerate")
SITE_ENV = "TESSERA_SITE_PACKAGES"


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def add_site_packages(env: dict[str, str] | None = None) -> list[str]:
    """In a bundle, TESSERA_SITE_PACKAGES's folders join the end of sys.path; the folders added."""
    env = os.environ if env is None else env
    if not frozen():
        return []
    added = []
    for folder in filter(None, env.get(SITE_ENV, "").split(os.pathsep)):
        if Path(folder).is_dir() and folder not in sys.path:
            sys.path.append(folder)
            added.append(folder)
    return added


def missing_stack(exc: BaseException) -> UserError | None:
    """The one sentence for an import of the ML stack that failed (None for any other error)."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if not isinstance(exc, ModuleNotFoundError) or name not in ML_STACK:
        return None
    where = ("this bundle leaves PyTorch out" if frozen() else f"{name} is not installed in this environment")
    return UserError(f"diffusion, LoRA training and CLIP search need PyTorch, and {where}: install Tessera with "
                     f"installers/install.sh (it picks the PyTorch build for this machine), or set {SITE_ENV} to "
                     "the site-packages folder of a Python 3.11 environment that has torch")
