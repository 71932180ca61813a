"""The Brief's LoRA list: style LoRAs, each with its weight; trigger words shown beside them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class LoraList(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["LoRA", "Weight"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.setMaximumHeight(110)
        self.table.setToolTip("Style LoRAs (.safetensors: kohya, diffusers or peft), each at its own weight. "
                              "Their trigger words are added to the prompt.")
        add = QToolButton(text="Add…")
        add.clicked.connect(self._browse)
        remove = QToolButton(text="Remove")
        remove.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def _browse(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add LoRAs", "", "LoRA (*.safetensors)")
        for path in paths:
            self.add(path)

    def add(self, path: str, weight: float = 1.0) -> None:
        from desktop.engine.diffusion.loras import trigger_words

        row = self.table.rowCount()
        self.table.insertRow(row)
        name = QTableWidgetItem(Path(path).stem if Path(path).is_file() else Path(path).name)
        name.setData(Qt.UserRole, str(path))
        words = trigger_words(path)
        name.setToolTip(f"{path}\nTrigger words: {', '.join(words) if words else 'none'}")
        name.setFlags(name.flags() & ~Qt.ItemIsEditable)
        self.table.setItem(row, 0, name)
        spin = QDoubleSpinBox()
        spin.setRange(-4.0, 4.0)
        spin.setSingleStep(0.05)
        spin.setValue(weight)
        spin.valueChanged.connect(self.changed)
        self.table.setCellWidget(row, 1, spin)
        self.changed.emit()

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)
        self.changed.emit()

    def specs(self) -> list[str]:
        """Every LoRA as PATH:WEIGHT, as GenerateRequest.loras takes them."""
        out = []
        for row in range(self.table.rowCount()):
            path = self.table.item(row, 0).data(Qt.UserRole)
            out.append(f"{path}:{self.table.cellWidget(row, 1).value():g}")
        return out
