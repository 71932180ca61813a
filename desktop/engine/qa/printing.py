"""Print readiness: pixels against the print size at a DPI, colour mode and bit depth."""

from __future__ import annotations

from desktop.engine.qa.report import FAIL, PASS, CheckResult

CM_PER_INCH = 2.54


def parse_print_size(text: str | None) -> tuple[float, float] | None:
    """'24x24in', '60x60cm', '8in' -> (width, height) in inches."""
    if not text:
        return None
    from desktop.errors import UserError

    raw = text.strip().lower().replace(" ", "").replace("×", "x")
    unit = 1.0
    for suffix, factor in (("in", 1.0), ('"', 1.0), ("cm", 1 / CM_PER_INCH), ("mm", 0.1 / CM_PER_INCH)):
        if raw.endswith(suffix):
            raw, unit = raw[: -len(suffix)], factor
            break
    try:
        parts = [float(p) for p in raw.split("x")] if "x" in raw else [float(raw)] * 2
        if len(parts) != 2 or min(parts) <= 0:
            raise ValueError
    except ValueError:
        raise UserError(f"print size '{text}' must look like 24x24in, 60x60cm or 8in") from None
    return parts[0] * unit, parts[1] * unit


def check_print(width: int, height: int, cfg: dict, mode: str = "RGB", bits: int = 8,
                has_alpha: bool = False) -> CheckResult:
    dpi = int(cfg["dpi"])
    max_w, max_h = width / dpi, height / dpi
    notes = []
    if mode not in ("RGB", "RGBA"):
        notes.append(f"colour mode {mode} is converted to sRGB for upload")
    if bits > 8:
        notes.append(f"{bits}-bit channels are reduced to 8-bit")
    if has_alpha:
        notes.append("transparent areas print as the paper colour")
    largest = f"{max_w:.1f} × {max_h:.1f} in ({max_w * CM_PER_INCH:.0f} × {max_h * CM_PER_INCH:.0f} cm) at {dpi} DPI"
    details = {"dpi": dpi, "max_print_in": [max_w, max_h], "max_print_cm": [max_w * CM_PER_INCH, max_h * CM_PER_INCH],
               "mode": mode, "bits": bits, "has_alpha": has_alpha}
    size = cfg.get("print_size_in")
    if not size:
        text = f"One repeat prints up to {largest}." + (f" Note: {'; '.join(notes)}." if notes else "")
        return CheckResult("print", "Print readiness", PASS, None, None, text, details)
    need_w, need_h = size[0] * dpi, size[1] * dpi
    score = min(width / need_w, height / need_h)
    details.update(required_px=[round(need_w), round(need_h)])
    if score >= 1.0:
        text = f"Ready for {size[0]:g} × {size[1]:g} in at {dpi} DPI (largest: {largest})."
    else:
        text = (f"Too small for {size[0]:g} × {size[1]:g} in at {dpi} DPI: needs {round(need_w)} × {round(need_h)} px, "
                f"has {width} × {height}. Largest: {largest}.")
    if notes:
        text += f" Note: {'; '.join(notes)}."
    return CheckResult("print", "Print readiness", PASS if score >= 1.0 else FAIL, score, 1.0, text, details)
