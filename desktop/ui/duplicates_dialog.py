"""Library ▸ Find duplicates: every pair of patterns that look like one design (shifted, flipped,
turned, scaled or recoloured copies), with the scores that found them and thresholds to adjust.

The dialog only shows and asks; the main window runs the search as a job and opens a pattern
when a row is double-clicked (the column clicked says which of the two)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.images import thumbnail

ICON = 56
STATUS_WORDS = {"approved": "approved", "rejected": "rejected", "draft": "unflagged"}
SHOWN = 500  # pairs listed at most (the strongest first); the count says how many there were
# (Thresholds field, label, decimals, what it measures)
THRESHOLDS = (("alignment", "Layout", 3, "How well the two layouts line up at the best shift, flip and turn: what "
               "decides that a pair the measures below (or a pattern's nearest) put forward is one design"),
              ("descriptor", "Descriptor", 3, "Cosine similarity of the built-in descriptors: a copy, shifted, "
               "flipped, turned or scaled, scores near 1"),
              ("hash", "pHash", 3, "1 − Hamming distance ÷ 64 of the best pair of perceptual hashes"),
              ("texture", "Texture", 4, "The descriptor's texture part alone: a recoloured copy keeps it"),
              ("colour", "Colour", 3, "A pair found is called recoloured when its colours agree less than this"))


class DuplicatesDialog(QDialog):
    find_requested = Signal(object)  # a desktop.library.search.Thresholds
    open_requested = Signal(int)  # a pattern id
    status_requested = Signal(list, str)  # pattern ids, a status
    trash_requested = Signal(list)  # pattern ids
    trash_copies_requested = Signal(list)  # the pairs shown: put aside all but one of each copy group

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from desktop.library.search import Thresholds

        self.setWindowTitle("Find duplicates")
        self.resize(820, 560)
        defaults = Thresholds()
        form = QFormLayout()
        self.spins: dict[str, QDoubleSpinBox] = {}
        for name, label, decimals, tip in THRESHOLDS:
            spin = QDoubleSpinBox()
            spin.setDecimals(decimals)
            spin.setRange(0.0, 1.01)  # above 1: that measure never decides
            spin.setSingleStep(10 ** -min(decimals, 3))
            spin.setValue(getattr(defaults, name))
            spin.setToolTip(tip)
            form.addRow(label, spin)
            self.spins[name] = spin
        self.find_button = QPushButton("&Find")
        self.find_button.setDefault(True)
        self.find_button.clicked.connect(self.request_find)
        reset = QPushButton("&Defaults")
        reset.clicked.connect(self.reset_thresholds)
        self.trash_copies = QPushButton("Trash the e&xtra copies…")
        self.trash_copies.setToolTip("Of each design found copied, keep one (published, approved or the highest "
                                     "rated, else the oldest) and move the others to the trash. Recoloured pairs "
                                     "are left alone. Ctrl+Z in the window brings them back.")
        self.trash_copies.setEnabled(False)
        self.trash_copies.clicked.connect(lambda: self.trash_copies_requested.emit(list(self._pairs)))
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button)
        buttons.addWidget(reset)
        buttons.addWidget(self.trash_copies)
        buttons.addStretch(1)
        self.summary = QLabel("Set the thresholds and press Find.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 8)
        self.table.setHorizontalHeaderLabels(["Pattern", "Looks like", "Kind", "Layout", "Descriptor", "pHash",
                                              "Texture", "Colour"])
        self.table.setIconSize(QSize(ICON, ICON))
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(ICON + 8)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in range(self.table.columnCount()):  # the two patterns share the width; the scores what they need
            header.setSectionResizeMode(column, QHeaderView.Stretch if column < 2 else QHeaderView.ResizeToContents)
        self.table.setToolTip("Double-click a pattern to open it. P approves, X rejects, U unflags and Delete "
                              "moves to the trash the pattern clicked (the left one unless the right one was)")
        self.table.cellDoubleClicked.connect(self._open)
        for key, status in (("P", "approved"), ("X", "rejected"), ("U", "draft")):
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.WidgetShortcut)
            shortcut.activated.connect(lambda status=status: self.set_status_of_current(status))
        for key in (QKeySequence.Delete, Qt.Key_Backspace):
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.WidgetShortcut)
            shortcut.activated.connect(self.trash_current)
        self.table.setSortingEnabled(False)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addLayout(form)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self._pairs: list[dict[str, Any]] = []

    def thresholds(self):
        from desktop.library.search import Thresholds

        return Thresholds(**{name: spin.value() for name, spin in self.spins.items()})

    def reset_thresholds(self) -> None:
        from desktop.library.search import Thresholds

        for name, spin in self.spins.items():
            spin.setValue(getattr(Thresholds(), name))

    def request_find(self) -> None:
        self.set_busy(True)
        self.find_requested.emit(self.thresholds())

    def set_busy(self, busy: bool, message: str = "Looking for duplicates…") -> None:
        self.find_button.setEnabled(not busy)
        if busy:
            self.summary.setText(message)

    def show_failure(self, message: str) -> None:
        self.set_busy(False)
        self.summary.setText(message)

    def show_pairs(self, pairs: list[dict[str, Any]], patterns: dict[int, tuple[str, np.ndarray | None]]) -> None:
        """`pairs` as desktop.library.search.duplicates gives them; `patterns`: id -> (title, thumbnail)."""
        self.set_busy(False)
        self._pairs = pairs[:SHOWN]
        self.trash_copies.setEnabled(any(p["kind"] == "copy" for p in self._pairs))
        self.table.setRowCount(len(self._pairs))
        for row, pair in enumerate(self._pairs):
            for column, pid in ((0, pair["a"]), (1, pair["b"])):
                title, thumb = patterns.get(pid, ("", None))
                item = QTableWidgetItem(f"#{pid}  {title}".strip())
                if thumb is not None:
                    item.setIcon(QIcon(thumbnail(thumb, ICON)))
                self.table.setItem(row, column, item)
            self.table.setItem(row, 2, QTableWidgetItem(pair["kind"]))
            for column, key, digits in ((3, "alignment", 3), (4, "descriptor", 3), (5, "hash", 3), (6, "texture", 4),
                                        (7, "colour", 3)):
                item = QTableWidgetItem(f"{pair[key]:.{digits}f}")
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, column, item)
        if not pairs:
            self.summary.setText("No near-duplicates at these thresholds.")
        else:
            copies = sum(p["kind"] == "copy" for p in pairs)
            more = f" (the {SHOWN} strongest are listed)" if len(pairs) > SHOWN else ""
            self.summary.setText(f"{len(pairs)} pair(s): {copies} {'copy' if copies == 1 else 'copies'}, "
                                 f"{len(pairs) - copies} recoloured{more}. Double-click a pattern to open it; "
                                 "P, X or U approves, rejects or unflags the one clicked, Delete moves it to the trash "
                                 "(Ctrl+Z in the window undoes).")

    def set_status_of_current(self, status: str) -> None:
        """The curation keys, on the pattern of the pair that was clicked: its cell says so."""
        pid = self._current_pattern()
        if pid is not None:
            self.status_requested.emit([pid], status)
            self._mark(pid, STATUS_WORDS[status])

    def trash_current(self) -> None:
        pid = self._current_pattern()
        if pid is not None:
            self.trash_requested.emit([pid])
            self._mark(pid, "in the trash")

    def mark_trashed(self, ids: list[int]) -> None:
        for pid in ids:
            self._mark(pid, "in the trash")

    def _current_pattern(self) -> int | None:
        row, column = self.table.currentRow(), self.table.currentColumn()
        if not 0 <= row < len(self._pairs):
            return None
        return self._pairs[row]["b" if column == 1 else "a"]

    def _mark(self, pid: int, word: str) -> None:
        for row, pair in enumerate(self._pairs):  # a pattern may be in several pairs
            for column, key in ((0, "a"), (1, "b")):
                if pair[key] == pid:
                    item = self.table.item(row, column)
                    item.setText(item.text().split("  ·  ")[0] + f"  ·  {word}")

    def _open(self, row: int, column: int) -> None:
        if 0 <= row < len(self._pairs):
            self.open_requested.emit(self._pairs[row]["b" if column == 1 else "a"])
