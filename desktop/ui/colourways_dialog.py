"""Tile ▸ Colourways…: choose the palettes (each shown as its swatch), flat inks or not, and a
collection to gather the colourways in. The dialog only asks; TileActions makes them as a job."""

from __future__ import annotations

import contextlib

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
from desktop.ui.theme import error_label

SWATCH = QSize(120, 20)
BRIEF = "\x00brief"  # the item for the Brief's own palette


def swatch_icon(palette: Palette) -> QIcon:
    pixmap = QPixmap(SWATCH)
    painter = QPainter(pixmap)
    width = SWATCH.width() / len(palette.colors)
    for i, colour in enumerate(palette.colors):
        painter.fillRect(round(i * width), 0, round((i + 1) * width) - round(i * width), SWATCH.height(),
                         QColor(*colour))
    painter.end()
    return QIcon(pixmap)


class ColourwaysDialog(QDialog):
    def __init__(self, title: str, brief_palette: str = "", current_palette: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Colourways")
        self.resize(520, 520)
        intro = QLabel(f"<b>{title}</b> in each palette ticked: each of its inks takes a colour of the palette, "
                       "light and dark kept in order, shading and texture kept. Seamless tiles stay seamless.")
        intro.setWordWrap(True)
        self.palettes = QListWidget()
        self.palettes.setIconSize(SWATCH)
        self._found: dict[str, Palette] = {}
        entries = [(name, load_named(name)) for name in palette_names()]
        if brief_palette and brief_palette not in palette_names():
            with contextlib.suppress(UserError):  # a half-typed custom palette in the Brief: not offered
                entries.insert(0, (BRIEF, parse_palette(brief_palette)))
        for key, palette in entries:
            label = "The Brief's palette" if key == BRIEF else palette.name or key
            item = QListWidgetItem(swatch_icon(palette), f"  {label}")
            item.setData(Qt.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked if key == current_palette else Qt.Checked)
            item.setToolTip(", ".join(palette.hex))
            self.palettes.addItem(item)
            self._found[key] = palette
        self.palettes.itemChanged.connect(self._check)
        every, none = QPushButton("&All"), QPushButton("&None")
        every.clicked.connect(lambda: self._tick_all(Qt.Checked))
        none.clicked.connect(lambda: self._tick_all(Qt.Unchecked))
        ticks = QHBoxLayout()
        ticks.addWidget(every)
        ticks.addWidget(none)
        ticks.addStretch(1)
        self.flat = QCheckBox("&Flat inks: exactly the palette's colours (screen print)")
        self.gather = QCheckBox("Gather them in a &collection:")
        self.gather.setChecked(True)
        self.collection = QLineEdit(f"{title} colourways")
        self.gather.toggled.connect(self.collection.setEnabled)
        gather = QHBoxLayout()
        gather.addWidget(self.gather)
        gather.addWidget(self.collection, 1)
        self.error = error_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("&Make colourways")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.palettes, 1)
        layout.addLayout(ticks)
        layout.addWidget(self.flat)
        layout.addLayout(gather)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.collection.textChanged.connect(self._check)
        self.gather.toggled.connect(self._check)
        self._check()

    def _tick_all(self, state) -> None:
        for row in range(self.palettes.count()):
            self.palettes.item(row).setCheckState(state)

    def chosen(self) -> list[Palette]:
        out = []
        for row in range(self.palettes.count()):
            item = self.palettes.item(row)
            if item.checkState() == Qt.Checked:
                out.append(self._found[item.data(Qt.UserRole)])
        return out

    def collection_name(self) -> str:
        return self.collection.text().strip() if self.gather.isChecked() else ""

    def _check(self, *_) -> None:
        count = len(self.chosen())
        problem = "" if count else "Tick at least one palette."
        if not problem and self.gather.isChecked() and not self.collection.text().strip():
            problem = "Name the collection, or untick it."
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        ok = self.buttons.button(QDialogButtonBox.Ok)
        ok.setEnabled(not problem)
        ok.setText(f"&Make {count} colourway{'s' if count != 1 else ''}" if count else "&Make colourways")
