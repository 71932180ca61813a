"""Help ▸ Keyboard shortcuts: every key the window answers to, found where it is defined (the
menus' actions, the Preview's and the Library grid's key tables), so the list cannot drift from
what the keys do. A filter field narrows it."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLineEdit,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def _plain(text: str) -> str:
    return text.replace("&", "").removesuffix("…").strip()


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(where, keys, what it does) for the window's menus, the Preview and the Library grid."""
    from desktop.ui.library_panel import GRID_KEYS
    from desktop.ui.preview import CANVAS_KEYS, CANVAS_MOUSE

    rows: list[tuple[str, str, str]] = []

    def walk(menu: QMenu, where: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{where} ▸ {_plain(action.text())}")
            elif not action.isSeparator() and not action.shortcut().isEmpty():
                keys = action.shortcut().toString(QKeySequence.NativeText)
                rows.append((where, keys, action.statusTip() or _plain(action.text())))

    for action in window.menuBar().actions():
        if action.menu() is not None:
            walk(action.menu(), _plain(action.text()))
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
