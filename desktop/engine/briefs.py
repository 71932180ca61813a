"""A brief as a collection keeps it: the part of a GenerateRequest that says what to make (style and
options, palette, repeat, size, QA, the model with its prompt and LoRAs), without what belongs
to one run (the seed, where the files go, a source image) or to one machine (device, precision,
batch size, compile).

A saved brief is plain JSON. Older collections kept a smaller shape (style, params, repeat,
palette as a list or a name, qa_profile, size, prompt); `request_of` reads both."""

from __future__ import annotations

from typing import Any

from desktop.engine.generate import GenerateRequest, request_from_dict
from desktop.errors import UserError

FIELDS = ("style", "params", "repeat", "width", "height", "palette", "count", "engine", "dpi", "qa_profile",
          "qa_overrides", "auto_correct", "max_attempts", "prompt", "negative_prompt", "steps", "guidance",
          "scheduler", "model", "loras", "tiling")


def brief_of(request: GenerateRequest) -> dict[str, Any]:
    """The brief a collection keeps of this request."""
    flat = request.flat()
    return {name: flat[name] for name in FIELDS}


def request_of(brief: dict[str, Any], **run: Any) -> GenerateRequest:
    """The request a saved brief makes, with this run's own fields (seed, out_dir, ..., this
    machine's batch_size or device) from `run`, by their own names."""
    if not isinstance(brief, dict):
        raise UserError("this collection's brief is not one Tessera can read")
    raw = {name: brief[name] for name in FIELDS if name in brief}
    if "size" in brief and "width" not in brief:  # the older shape
        try:
            raw["width"], raw["height"] = (int(side) for side in brief["size"])
        except (TypeError, ValueError):
            raise UserError(f"this collection's brief has a size Tessera cannot read: {brief['size']!r}") from None
    if isinstance(raw.get("palette"), list):
        raw["palette"] = ",".join(raw["palette"])
    if not raw.get("palette"):
        raw.pop("palette", None)  # no palette kept: the default
    return request_from_dict(raw).with_flat(**run) if run else request_from_dict(raw)


def palette_colours(spec: str | list[str]) -> list[str]:
    """A brief's palette (a name, "#hex,#hex" or a list) as the list of hex colours a collection shows."""
    from desktop.palettes import parse_palette

    if isinstance(spec, list):
        return [str(colour) for colour in spec]
    return parse_palette(spec).hex if spec and str(spec).strip() else []
