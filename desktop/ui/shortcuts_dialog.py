"""Help ▸ Keyboard shortcuts: every key the window answers to, read from where it is declared (the
actions' table in actions.py, from which the menus are built, and the Preview's and the Library
grid's key tables), so the list cannot drift from what the keys do. A filter field narrows it."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(window=None) -> list[tuple[str, str, str]]:
    """(where, keys, what it does) for the menus' actions, the Preview and the Library grid."""
    from desktop.ui.actions import shortcut_rows as action_rows
    from desktop.ui.library_panel import GRID_KEYS
    from desktop.ui.preview import CANVAS_KEYS, CANVAS_MOUSE

    rows = action_rows()
    rows += [("Preview", shown, does) for shown, does, _ in CANVAS_KEYS.values()]
    rows += [("Preview", shown, does) for shown, does in CANVAS_MOUSE]
    rows += [("Library grid", shown, does) for shown, does in GRID_KEYS]
    rows += [("Models dialog", "Del", "Remove the selected models (their files stay)"),
             ("Models dialog", QKeySequence(QKeySequence.Undo).toString(QKeySequence.NativeText), "Undo remove"),
             ("Models dialog", "F2", "Rename")]
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 560)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: a key or a word")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Where", "Keys", "Does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for row in range(self.table.rowCount()):
            line = " ".join(self.table.item(row, c).text() for c in range(3)).lower()
            self.table.setRowHidden(row, not all(w in line for w in words))

    def visible_rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())
                if not self.table.isRowHidden(r)]
