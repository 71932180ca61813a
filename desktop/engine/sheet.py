"""Presentation sheets: patterns side by side, each as a 2 x 2 repeat through the repeat geometry
(so a half-drop shows as one), over its palette's swatches and its name; and, when asked, under
it a product mockup at the tile's printed size (desktop.engine.mockups), so a client sees the
scale of each repeat too. What a marketplace listing or a client sees; made for a design's
colourways and for any patterns chosen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAP, SWATCH_H, LABEL_H, NOTE_H = 16, 14, 26, 20
PAPER = (250, 249, 246)
INK = (40, 40, 44)
QUIET = (110, 110, 118)  # the note's ink


@dataclass
class SheetItem:
    pixels: np.ndarray  # HxWx3 uint8
    repeat: str = "basic"
    label: str = ""
    colours: tuple[tuple[int, int, int], ...] = ()  # its palette's swatches (none: no strip)
    scene: np.ndarray | None = None  # a product mockup of it (HxWx3 uint8), shown under the repeat
    note: str = ""  # a second line under the label: its printed size, say


def presentation_sheet(items: list[SheetItem], cell: int = 320, columns: int = 4) -> np.ndarray:
    """HxWx3 uint8: `items` in rows of `columns`, each in a `cell`-px square; where any item has a
    scene, every cell keeps room for one under its repeat (cell wide, at the widest scene's
    shape), and where any has a note, a line for it under the label."""
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
    scenes = [item.scene for item in items if item.scene is not None]
    scene_h = round(cell * max(s.shape[0] / s.shape[1] for s in scenes)) + GAP // 2 if scenes else 0
    note_h = NOTE_H if any(item.note for item in items) else 0
    block = cell + scene_h + SWATCH_H + LABEL_H + note_h
    page = Image.new("RGB", (columns * cell + (columns + 1) * GAP, rows * block + (rows + 1) * GAP), PAPER)
    draw = ImageDraw.Draw(page)
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=13)
    for i, item in enumerate(items):
        x = GAP + (i % columns) * (cell + GAP)
        y = GAP + (i // columns) * (block + GAP)
        view = repeat_view(np.asarray(item.pixels)[..., :3], item.repeat, 2, 2)
        scale = cell / max(view.shape[:2])
        shown = cv2.resize(view, (max(1, round(view.shape[1] * scale)), max(1, round(view.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
        page.paste(Image.fromarray(np.ascontiguousarray(shown)), (x, y))
        if item.scene is not None:
            scene = np.asarray(item.scene)[..., :3]
            size = (cell, max(1, round(cell * scene.shape[0] / scene.shape[1])))
            page.paste(Image.fromarray(np.ascontiguousarray(cv2.resize(scene, size, interpolation=cv2.INTER_AREA))),
                       (x, y + cell + GAP // 2))
        top = y + cell + scene_h
        for j, colour in enumerate(item.colours):
            left = x + round(j * cell / len(item.colours))
            right = x + round((j + 1) * cell / len(item.colours))
            draw.rectangle([left, top + 4, right - 1, top + SWATCH_H - 1], fill=tuple(colour))
        for text, at, ink, face in ((item.label, top + SWATCH_H + 4, INK, font),
                                    (item.note, top + SWATCH_H + LABEL_H, QUIET, small)):
            if text:
                draw.text((x, at), text if draw.textlength(text, font=face) <= cell else _fit(draw, text, face, cell),
                          fill=ink, font=face)
    return np.asarray(page)


def _fit(draw, text: str, font, width: int) -> str:
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"
