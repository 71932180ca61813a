"""A pattern's provenance both ways: the row's values from a file's metadata (Tessera's own chunk, then
A1111's), and the view of a row that Library.get gives (what the Inspector, listings, disclosure and
content credentials read)."""

from __future__ import annotations

from typing import Any

VIEWED = ("engine", "model", "model_hash", "loras", "prompt", "negative_prompt", "seed", "steps", "cfg",
          "scheduler", "style", "params", "palette", "parents", "attempts", "source")


def values(tessera: dict[str, Any], a1111: dict[str, Any], source: str) -> dict[str, Any]:
    """The Provenance row's columns from a file's metadata."""
    def fact(key: str, default: Any = ""):  # Tessera's own chunk first, then A1111's
        return tessera.get(key) if tessera.get(key) not in (None, "") else a1111.get(key, default)

    return dict(
        engine=tessera.get("engine") or ("diffusion" if a1111 else ""),
        model=fact("model"), model_hash=fact("model_hash"), loras=tessera.get("loras", []),
        prompt=fact("prompt"), negative_prompt=fact("negative_prompt"),
        seed=fact("seed", None), steps=fact("steps", None), cfg=fact("cfg", None),
        scheduler=fact("scheduler"), style=tessera.get("style", ""), params=tessera.get("params", {}),
        palette=tessera.get("palette", {}), parents=tessera.get("parents", []),
        attempts=tessera.get("attempts", []), source=source, raw={"tessera": tessera, "a1111": a1111},
    )


def view(prov) -> dict[str, Any]:
    """Library.get's provenance: the row's columns, the images a style read, and what was done to make it
    from another image (a variation or upscale, a repair, a recolour, spot colours, a colourway)."""
    if prov is None:
        return {}
    out = {c: getattr(prov, c) for c in VIEWED}
    raw = (prov.raw or {}).get("tessera") or {}
    for key in ("inputs", "mode", "repaired", "spot_colours"):
        if raw.get(key):
            out[key] = raw[key]
    for key, said in (("recoloured_to", "recoloured"), ("colourway", "colourway")):
        if raw.get(key):
            out[said] = True
    return out
