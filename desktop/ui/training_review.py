"""The set a LoRA is about to train on, for a look first: each tile with its caption and repeat, the
near-duplicates and the tiles whose QA failed flagged (`training_set.review`); train on all of
them, or on those not flagged."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

ICON = 48


class ReviewDialog(QDialog):
    """Accepted: train on `chosen()`."""

    def __init__(self, name: str, reviewed: list[dict[str, Any]], thumbs: dict[int, str],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Train {name}: the tiles")
        self.reviewed = reviewed
        self.leave_out = False
        flagged = sum(1 for item in reviewed if item["flags"])
        self.summary = summary = QLabel(f"{len(reviewed)} tile(s) to train on" + (
            f"; {flagged} with something to look at (near-duplicates are learned twice over, and a tile that "
            "failed QA is learned as faithfully as a good one)." if flagged else "; nothing flagged."))
        summary.setWordWrap(True)
        self.table = QTableWidget(len(reviewed), 4)
        self.table.setHorizontalHeaderLabels(["Tile", "Caption", "Repeat", "To look at"])
        self.table.setIconSize(QSize(ICON, ICON))
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(ICON + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(3, QHeaderView.Stretch)
        for row, item in enumerate(reviewed):
            tile = QTableWidgetItem(f"#{item.get('id', '?')}")
            thumb = thumbs.get(item.get("id"))
            if thumb:
                tile.setIcon(QIcon(thumb))
            self.table.setItem(row, 0, tile)
            self.table.setItem(row, 1, QTableWidgetItem(item["caption"]))
            self.table.setItem(row, 2, QTableWidgetItem(item.get("repeat") or "basic"))
            flags = QTableWidgetItem("; ".join(item["flags"]))
            if item["flags"]:
                flags.setForeground(QColor("#f2c14e"))  # amber: worth a look, not an error
                flags.setToolTip("\n".join(item["flags"]))
            self.table.setItem(row, 3, flags)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText(f"Train on all {len(reviewed)}")
        self.without = None
        if flagged and flagged < len(reviewed):
            self.without = buttons.addButton(f"Train on the {len(reviewed) - flagged} not flagged",
                                             QDialogButtonBox.ActionRole)
            self.without.clicked.connect(self._without_flagged)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(820, 480)

    def _without_flagged(self) -> None:
        self.leave_out = True
        self.accept()

    def chosen(self) -> list[dict[str, Any]]:
        """The tiles to train on (without their flags)."""
        kept = [item for item in self.reviewed if not (self.leave_out and item["flags"])]
        return [{k: v for k, v in item.items() if k != "flags"} for item in kept]
