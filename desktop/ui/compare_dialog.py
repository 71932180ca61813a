"""Compare (C in the grid, Library ▸ Compare the selected): two to six patterns side by side, each
repeating through its own repeat geometry, to choose between candidates: a seed against
another, a pattern against its colourways, the two of a duplicate pair.

The pattern in focus (clicked, or moved to with the arrow keys) takes the curation keys: P, X,
U, 0-5 and Delete, as in the grid, each undoable in the window. Its caption says so at once.
Wheel and drag zoom and pan that pattern's view; Z makes every view show the same zoom; Enter
opens it in the Preview. The dialog only shows and asks; the window loads the pixels and writes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from desktop.ui.preview import RepeatCanvas

MOST = 6  # patterns compared at once
STATUS_KEYS = {"P": "approved", "X": "rejected", "U": "draft"}
FOCUS = "QFrame#cell { border: 2px solid #4a90e2; border-radius: 3px; }"
UNFOCUSED = "QFrame#cell { border: 2px solid transparent; border-radius: 3px; }"


class _Cell(QFrame):
    def __init__(self, entry, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cell")
        self.entry = entry
        self.status, self.rating, self.trashed = entry.status or "draft", entry.rating, False
        self.canvas = RepeatCanvas()
        self.canvas.set_repeats(2)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.caption)
        self.show_caption()

    def show_caption(self) -> None:
        entry = self.entry
        title = entry.title or (entry.metadata or {}).get("title") or f"#{entry.pattern_id}"
        state = "in the trash" if self.trashed else self.status
        self.caption.setText(f"#{entry.pattern_id}  {title}  ·  {state}  ·  {'★' * self.rating or '☆'}")


class CompareDialog(QDialog):
    status_requested = Signal(list, str)  # pattern ids, a status
    rating_requested = Signal(list, int)
    trash_requested = Signal(list)
    open_requested = Signal(int)

    def __init__(self, entries: list, parent: QWidget | None = None):
        super().__init__(parent)
        entries = [e for e in entries if e.pattern_id is not None][:MOST]
        self.setWindowTitle(f"Compare {len(entries)} patterns")
        self.cells = [_Cell(e, self) for e in entries]
        grid = QGridLayout()
        columns = 2 if len(self.cells) <= 4 else 3
        for k, cell in enumerate(self.cells):
            grid.addWidget(cell, k // columns, k % columns)
            cell.canvas.installEventFilter(self)
        self.hint = QLabel("Click a pattern, or move with ← →: P approves, X rejects, U unflags, 0–5 rates, "
                           "Delete moves it to the trash (Ctrl+Z in the window undoes). Z: the same zoom for all. "
                           "Enter opens it in the Preview.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #9a9aa0;")
        layout = QVBoxLayout(self)
        layout.addLayout(grid, 1)
        layout.addWidget(self.hint)
        self.current = 0
        keys: dict[str, Any] = {**{k: (lambda s=s: self._status(s)) for k, s in STATUS_KEYS.items()},
                                **{str(n): (lambda n=n: self._rate(n)) for n in range(6)},
                                "Del": self._trash, "Backspace": self._trash, "Left": lambda: self.move(-1),
                                "Right": lambda: self.move(1), "Z": self.same_zoom, "Return": self._open,
                                "Enter": self._open}
        for key, slot in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._focus(0)
        self.resize(1100, 760 if len(self.cells) > 2 else 560)

    # -- what the window gives -----------------------------------------------------------------
    def pattern_ids(self) -> list[int]:
        return [c.entry.pattern_id for c in self.cells]

    def set_image(self, pattern_id: int, image: np.ndarray, repeat: str) -> None:
        for cell in self.cells:
            if cell.entry.pattern_id == pattern_id:
                cell.canvas.set_tile(image, repeat)
                cell.canvas.fit()

    def set_unreadable(self, pattern_id: int, why: str) -> None:
        for cell in self.cells:
            if cell.entry.pattern_id == pattern_id:
                cell.caption.setText(f"#{pattern_id}: cannot be shown ({why})")
                cell.caption.setToolTip(why)

    # -- focus and keys ------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.MouseButtonPress:
            for k, cell in enumerate(self.cells):
                if cell.canvas is obj:
                    self._focus(k)
        return False

    def _focus(self, index: int) -> None:
        if not self.cells:
            return
        self.current = index % len(self.cells)
        for k, cell in enumerate(self.cells):
            cell.setStyleSheet(FOCUS if k == self.current else UNFOCUSED)
        self.cells[self.current].canvas.setFocus()

    def move(self, step: int) -> None:
        self._focus(self.current + step)

    def same_zoom(self) -> None:
        """Every view at the zoom of the one in focus, so their motifs compare at one scale."""
        if not self.cells:
            return
        scale = self.cells[self.current].canvas.scale()
        for cell in self.cells:
            if cell.canvas.has_tile():
                cell.canvas.set_zoom(scale)

    def _cell(self) -> _Cell | None:
        return self.cells[self.current] if self.cells else None

    def _status(self, status: str) -> None:
        self._curate(self.status_requested, status, status=status)

    def _rate(self, rating: int) -> None:
        self._curate(self.rating_requested, rating, rating=rating)

    def _trash(self) -> None:
        cell = self._cell()
        if cell is not None and not cell.trashed:
            self._curate(self.trash_requested, trashed=True)

    def _curate(self, signal, *value, **shown) -> None:
        """Ask the window for it, for the pattern in focus, and say so in its caption at once."""
        cell = self._cell()
        if cell is not None:
            for name, new in shown.items():
                setattr(cell, name, new)
            cell.show_caption()
            signal.emit([cell.entry.pattern_id], *value)

    def _open(self) -> None:
        cell = self._cell()
        if cell is not None:
            self.open_requested.emit(cell.entry.pattern_id)
