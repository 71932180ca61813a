"""The Brief's LoRA list: style LoRAs, each with its weight; trigger words shown beside them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPalette
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

FAMILY = Qt.UserRole + 1  # the family a row's LoRA was made for ("" when it does not say)
TIP = Qt.UserRole + 2  # its path and trigger words (the tooltip, before any warning)


class LoraList(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model_family = ""  # the family of the model the Brief draws with
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
        from desktop.engine.diffusion.families import FAMILY_NAMES
        from desktop.engine.diffusion.loras import glance

        row = self.table.rowCount()
        self.table.insertRow(row)
        words, family = glance(path)
        stem = Path(path).stem if Path(path).is_file() else Path(path).name
        name = QTableWidgetItem(f"{stem} ({FAMILY_NAMES.get(family, family)})" if family else stem)
        name.setData(Qt.UserRole, str(path))
        name.setData(FAMILY, family)
        name.setData(TIP, f"{path}\nTrigger words: {', '.join(words) if words else 'none'}")
        name.setFlags(name.flags() & ~Qt.ItemIsEditable)
        from desktop.engine.diffusion.loras import training_facts

        scored = (training_facts(path) or {}).get("style_score")
        if scored:  # how far it moved its samples towards its training tiles (shown in the list too)
            name.setText(f"{name.text()} · style {scored['score']:.2f}")
            name.setData(TIP, name.data(TIP) + f"\n{scored['sentence']}")
        sample = Path(path).with_name(f"{Path(path).stem}.preview.png")  # a trained LoRA's last sample
        if sample.is_file():
            name.setIcon(QIcon(str(sample)))
            name.setData(TIP, name.data(TIP) + f"\nSample: {sample}")
        self.table.setItem(row, 0, name)
        self._mark(row)
        spin = QDoubleSpinBox()
        spin.setRange(-4.0, 4.0)
        spin.setSingleStep(0.05)
        spin.setValue(weight)
        spin.valueChanged.connect(self.changed)
        self.table.setCellWidget(row, 1, spin)
        self.changed.emit()

    def set_model_family(self, family: str) -> None:
        """Mark the LoRAs made for another family than the chosen model's (Generate refuses them)."""
        self.model_family = family
        for row in range(self.table.rowCount()):
            self._mark(row)

    def _wrong(self, row: int) -> bool:
        family = self.table.item(row, 0).data(FAMILY)
        return bool(family and self.model_family in ("sd15", "sdxl") and family != self.model_family)

    def _mark(self, row: int) -> None:
        from desktop.engine.diffusion.families import FAMILY_NAMES

        item = self.table.item(row, 0)
        tip = item.data(TIP)
        if self._wrong(row):
            item.setForeground(QColor("#e57373"))
            tip += (f"\nMade for {FAMILY_NAMES.get(item.data(FAMILY), item.data(FAMILY))}; the model is "
                    f"{FAMILY_NAMES[self.model_family]}, so Generate refuses it")
        else:
            item.setForeground(self.palette().color(QPalette.Text))
        item.setToolTip(tip)

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)
        self.changed.emit()

    def specs(self) -> list[str]:
        """Every LoRA as PATH:WEIGHT, as ModelSettings.loras (a GenerateRequest's) takes them."""
        out = []
        for row in range(self.table.rowCount()):
            path = self.table.item(row, 0).data(Qt.UserRole)
            out.append(f"{path}:{self.table.cellWidget(row, 1).value():g}")
        return out
