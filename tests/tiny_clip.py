"""A tiny random-weight CLIP (open_clip, from a config), saved as safetensors: no download, no weights."""

from __future__ import annotations

import json
from pathlib import Path

TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
NAME = "tessera-tiny-clip"


def make_tiny_clip(folder: Path) -> tuple[Path, Path]:
    """(its open_clip config, its weights), registered with open_clip under NAME."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    config = folder / f"{NAME}.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(str(config))
    torch.manual_seed(0)
    model = open_clip.create_model(NAME, pretrained=None)
    weights = folder / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return config, weights
