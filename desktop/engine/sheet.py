"""Presentation sheets: patterns side by side, each as a 2 x 2 repeat through the repeat geometry
(so a half-drop shows as one), over its palette's swatches and its name. What a marketplace
listing or a client sees; made for a design's colourways and for any patterns chosen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAP, SWATCH_H, LABEL_H = 16, 14, 26
PAPER = (250, 249, 246)
INK = (40, 40, 44)


@dataclass
class SheetItem:
    pixels: np.ndarray  # HxWx3 uint8
    repeat: str = "basic"
    label: str = ""
    colours: tuple[tuple[int, int, int], ...] = ()  # its palette's swatches (none: no strip)


def presentation_sheet(items: list[SheetItem], cell: int = 320, columns: int = 4) -> np.ndarray:
    """HxWx3 uint8: `items` in rows of `columns`, each in a `cell`-px square."""
    import cv2
    from PIL import Image, ImageDraw, ImageFont

    from desktop.errors import UserError
    from desktop.repeat import repeat_view

    if not items:
        raise UserError("a sheet needs at least one pattern")
    if not 64 <= cell <= 2048:
        raise UserError(f"a sheet's cells run from 64 to 2048 px, not {cell}")
    columns = max(1, min(columns, len(items)))
    rows = -(-len(items) // columns)
    page = Image.new("RGB", (columns * cell + (columns + 1) * GAP,
                             rows * (cell + SWATCH_H + LABEL_H) + (rows + 1) * GAP), PAPER)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=15)
    for i, item in enumerate(items):
        x = GAP + (i % columns) * (cell + GAP)
        y = GAP + (i // columns) * (cell + SWATCH_H + LABEL_H + GAP)
        view = repeat_view(np.asarray(item.pixels)[..., :3], item.repeat, 2, 2)
        scale = cell / max(view.shape[:2])
        shown = cv2.resize(view, (max(1, round(view.shape[1] * scale)), max(1, round(view.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
        page.paste(Image.fromarray(np.ascontiguousarray(shown)), (x, y))
        for j, colour in enumerate(item.colours):
            left = x + round(j * cell / len(item.colours))
            right = x + round((j + 1) * cell / len(item.colours))
            draw.rectangle([left, y + cell + 4, right - 1, y + cell + SWATCH_H - 1], fill=tuple(colour))
        label = item.label if draw.textlength(item.label, font=font) <= cell else _fit(draw, item.label, font, cell)
        draw.text((x, y + cell + SWATCH_H + 4), label, fill=INK, font=font)
    return np.asarray(page)


def _fit(draw, text: str, font, width: int) -> str:
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"
