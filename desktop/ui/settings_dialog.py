"""Settings: library location, how diffusion runs on this machine (device, precision, images per
pass, torch.compile), default QA profile and print DPI.

Saved atomically to the settings file; the library location takes effect on the next start
(the open library is locked by this window until then).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.config import Paths, Settings, save_settings


class SettingsDialog(QDialog):
    def __init__(self, paths: Paths, settings: Settings, devices: dict | None, parent: QWidget | None = None):
        super().__init__(parent)
        from desktop.engine.qa import profile_names

        self.setWindowTitle("Settings")
        self.paths = paths
        self.settings = settings
        self.library = QLineEdit(settings.library_dir or "")
        self.library.setPlaceholderText(str(paths.library_dir))
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.library, 1)
        row.addWidget(browse)
        self.device = QComboBox()
        self.device.addItems(["auto", "cuda", "cpu"])
        if self.device.findText(settings.device) < 0:  # a GPU of its own, "cuda:1", kept as it was set
            self.device.addItem(settings.device)
        self.device.setCurrentText(settings.device)
        gpu = "a CUDA GPU is available" if devices and devices.get("cuda") else "no CUDA GPU found"
        self.device.setToolTip(f"Where diffusion runs ({gpu}); the procedural engine always uses the CPU")
        self.precision = QComboBox()
        self.precision.addItems(["auto", "float16", "bfloat16", "float32"])
        self.precision.setCurrentText(settings.precision)
        self.precision.setToolTip("auto: float16 on a GPU, float32 on the CPU. bfloat16 needs a recent GPU")
        self.batch = QSpinBox()
        self.batch.setRange(1, 16)
        self.batch.setValue(max(1, int(settings.batch_size)))
        self.batch.setToolTip("Diffusion images rendered together: faster on a large GPU, more memory. "
                              "If memory runs out, Tessera halves it and retries")
        self.compile_unet = QCheckBox("Compile the UNet (torch.compile)")
        self.compile_unet.setChecked(bool(settings.compile_unet))
        self.compile_unet.setToolTip("Faster steps on a GPU once compiled; the first image of each size "
                                     "waits for the compiler (a minute or more)")
        self.profile = QComboBox()
        self.profile.addItems(profile_names())
        self.profile.setCurrentText(settings.qa_profile)
        self.dpi = QSpinBox()
        self.dpi.setRange(10, 2400)
        self.dpi.setValue(int(settings.default_dpi))
        self.dpi.setSuffix(" DPI")
        from desktop.engine.mockups import PRODUCTS

        self.mockups = {}
        shown = QHBoxLayout()
        for name, product in PRODUCTS.items():
            box = self.mockups[name] = QCheckBox(name.capitalize())
            box.setChecked(name in settings.listing_mockups)
            box.setToolTip(product.label)
            shown.addWidget(box)
        shown.addStretch(1)
        form = QFormLayout()
        form.addRow("Library folder", row)
        form.addRow("", QLabel("A new library folder is used from the next start."))
        form.addRow("Compute device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("Images per pass", self.batch)
        form.addRow("", self.compile_unet)
        form.addRow("QA profile", self.profile)
        form.addRow("Print resolution", self.dpi)
        form.addRow("Listing mockups", shown)
        form.addRow("", QLabel("Each pattern published goes with these mockups, at its print size."))
        from desktop.library.listings import profile_names

        self.marketplace = QComboBox()
        self.marketplace.addItems(profile_names())
        self.marketplace.setCurrentText(settings.marketplace_profile)
        self.marketplace.setToolTip("Whose listing limits (title length, tags) the listing editor and publishing keep")
        form.addRow("Marketplace", self.marketplace)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder", self.library.text() or "")
        if folder:
            self.library.setText(folder)

    def result_settings(self) -> Settings:
        return dataclasses.replace(self.settings, library_dir=self.library.text().strip() or None,
                                   device=self.device.currentText(), precision=self.precision.currentText(),
                                   batch_size=self.batch.value(), compile_unet=self.compile_unet.isChecked(),
                                   qa_profile=self.profile.currentText(),
                                   default_dpi=self.dpi.value(),
                                   listing_mockups=[name for name, box in self.mockups.items() if box.isChecked()],
                                   marketplace_profile=self.marketplace.currentText() or "generic")

    def accept(self) -> None:
        self.settings = self.result_settings()
        save_settings(self.settings, self.paths.settings_file)
        super().accept()
