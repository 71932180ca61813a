"""Tile ▸ Colourways…: choose the palettes (each shown as its swatch), flat inks or not, and a
collection to gather the colourways in; Tile ▸ Coordinates… asks the same way (TickDialog). The
dialogs only ask; TileActions makes the tiles as a job."""

from __future__ import annotations

import contextlib

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import UserError
from desktop.palettes import Palette, load_named, palette_names, parse_palette
from desktop.ui.images import qimage_from_array
from desktop.ui.theme import error_label

SWATCH = QSize(120, 20)
BRIEF = "\x00brief"  # the item for the Brief's own palette
ICON = 48  # a coordinate's preview, drawn at this size


def swatch_icon(palette: Palette) -> QIcon:
    pixmap = QPixmap(SWATCH)
    painter = QPainter(pixmap)
    width = SWATCH.width() / len(palette.colors)
    for i, colour in enumerate(palette.colors):
        painter.fillRect(round(i * width), 0, round((i + 1) * width) - round(i * width), SWATCH.height(),
                         QColor(*colour))
    painter.end()
    return QIcon(pixmap)


class TickDialog(QDialog):
    """Tick what to make from the tile shown (a list with icons, All / None), and a collection to
    gather the results in; OK names how many. Colourways and Coordinates are made through it."""

    def __init__(self, window_title: str, intro: str, noun: str, thing: str, collection: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(window_title)
        self.resize(520, 520)
        self.noun, self.thing = noun, thing  # what one ticked item makes ("colourway"), and is ("palette")
        label = QLabel(intro)
        label.setWordWrap(True)
        self.items = QListWidget()
        self.items.setIconSize(SWATCH)
        self.items.itemChanged.connect(self._check)
        every, none = QPushButton("&All"), QPushButton("&None")
        every.clicked.connect(lambda: self._tick_all(Qt.Checked))
        none.clicked.connect(lambda: self._tick_all(Qt.Unchecked))
        ticks = QHBoxLayout()
        ticks.addWidget(every)
        ticks.addWidget(none)
        ticks.addStretch(1)
        self.options = QVBoxLayout()  # what a kind of dialog asks besides (colourways: flat inks)
        self.gather = QCheckBox("Gather them in a &collection:")
        self.gather.setChecked(True)
        self.collection = QLineEdit(collection)
        self.gather.toggled.connect(self.collection.setEnabled)
        gather = QHBoxLayout()
        gather.addWidget(self.gather)
        gather.addWidget(self.collection, 1)
        self.error = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.items, 1)
        layout.addLayout(ticks)
        layout.addLayout(self.options)
        layout.addLayout(gather)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.collection.textChanged.connect(self._check)
        self.gather.toggled.connect(self._check)

    def add_item(self, key: str, label: str, icon: QIcon, tip: str, checked: bool = True) -> None:
        item = QListWidgetItem(icon, f"  {label}")
        item.setData(Qt.UserRole, key)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
        item.setToolTip(tip)
        self.items.addItem(item)

    def _tick_all(self, state) -> None:
        for row in range(self.items.count()):
            self.items.item(row).setCheckState(state)

    def ticked(self) -> list[str]:
        """The keys of the items ticked, in order."""
        return [self.items.item(row).data(Qt.UserRole) for row in range(self.items.count())
                if self.items.item(row).checkState() == Qt.Checked]

    def collection_name(self) -> str:
        return self.collection.text().strip() if self.gather.isChecked() else ""

    def _check(self, *_) -> None:
        count = len(self.ticked())
        problem = "" if count else f"Tick at least one {self.thing}."
        if not problem and self.gather.isChecked() and not self.collection.text().strip():
            problem = "Name the collection, or untick it."
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        ok = self.buttons.button(QDialogButtonBox.Ok)
        ok.setEnabled(not problem)
        ok.setText(f"&Make {count} {self.noun}{'s' if count != 1 else ''}" if count else f"&Make {self.noun}s")


class ColourwaysDialog(TickDialog):
    def __init__(self, title: str, brief_palette: str = "", current_palette: str = "",
                 parent: QWidget | None = None):
        super().__init__("Colourways", f"<b>{title}</b> in each palette ticked: each of its inks takes a colour of "
                         "the palette, light and dark kept in order, shading and texture kept. Seamless tiles stay "
                         "seamless.", "colourway", "palette", f"{title} colourways", parent)
        self.palettes = self.items
        self._found: dict[str, Palette] = {}
        entries = [(name, load_named(name)) for name in palette_names()]
        if brief_palette and brief_palette not in palette_names():
            with contextlib.suppress(UserError):  # a half-typed custom palette in the Brief: not offered
                entries.insert(0, (BRIEF, parse_palette(brief_palette)))
        self.items.blockSignals(True)
        for key, palette in entries:
            self.add_item(key, "The Brief's palette" if key == BRIEF else palette.name or key, swatch_icon(palette),
                          ", ".join(palette.hex), checked=key != current_palette)
            self._found[key] = palette
        self.items.blockSignals(False)
        self.flat = QCheckBox("&Flat inks: exactly the palette's colours (screen print)")
        self.options.addWidget(self.flat)
        self._check()

    def chosen(self) -> list[Palette]:
        return [self._found[key] for key in self.ticked()]


class CoordinatesDialog(TickDialog):
    """Tile ▸ Coordinates…: which coordinates to make, each shown small in the hero's own inks."""

    def __init__(self, title: str, hero: np.ndarray, repeat: str, palette: Palette | None = None,
                 parent: QWidget | None = None):
        from desktop.engine.coordinates import KINDS, coordinates

        super().__init__("Coordinates", f"Coordinates for <b>{title}</b>: plainer patterns in its own inks, at its "
                         "size and repeat, to sell beside it (each names it as its parent).", "coordinate",
                         "coordinate", f"{title} collection", parent)
        self.items.setIconSize(QSize(ICON, ICON))
        shown = {c.kind.name: c for c in coordinates(np.ascontiguousarray(hero[..., :3]), repeat, size=(ICON, ICON),
                                                    palette=palette)}
        self.items.blockSignals(True)
        for name, kind in KINDS.items():
            made = shown[name]
            self.add_item(name, f"{kind.label} ({kind.style}, in {', '.join(made.palette.hex)})",
                          QIcon(QPixmap.fromImage(qimage_from_array(made.image))), ", ".join(made.palette.hex))
        self.items.blockSignals(False)
        self._check()
