"""Tile ▸ Mockups… (Ctrl+M): the tile repeating at its printed size on a room's walls, a width of
fabric, a cushion and a measured swatch (`desktop.engine.mockups`), to judge its scale before it
prints. 1–4 choose the product; the tile's printed width (from its DPI at first) can be changed in
inches or centimetres; Save… writes the one shown, Save all… every product, Ctrl+C copies it.

The dialog asks and shows; the rendering runs on the window's I/O lane (a second is typical), and
only the newest request's picture is shown: a render asked for earlier is cancelled (at once if it
waits on the lane, between its stages if it runs), as it is when the dialog closes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from desktop.engine.mockups import CM_PER_INCH, PRODUCTS
from desktop.jobs import Lane
from desktop.library.titles import file_stem
from desktop.ui.images import qimage_from_array

NAMES = {"wall": "&1 Wall", "fabric": "&2 Fabric", "cushion": "&3 Cushion", "swatch": "&4 Swatch"}


class MockupDialog(QDialog):
    def __init__(self, pixels: np.ndarray, metadata: dict[str, Any], title: str, submit: Callable,
                 state: QSettings | None = None, parent: QWidget | None = None, profile: str = "default",
                 cancel: Callable | None = None):
        super().__init__(parent)
        self.pixels, self.metadata, self.title, self.submit, self.state = pixels, metadata, title, submit, state
        self.cancel = cancel  # cancel(job): the queue's, to stop a render no longer wanted
        self._rendering = None  # the job of the newest render
        self.repeat = metadata.get("repeat") or "basic"
        self.dpi = float(metadata.get("dpi") or 150)
        from desktop.engine.qa import load_profile

        self.print_dpi = int(load_profile(profile)["print"]["dpi"])  # below it, a print shows its pixels
        self.setWindowTitle(f"Mockups · {title}")
        self.products = QTabBar()
        for name in PRODUCTS:
            self.products.setTabToolTip(self.products.addTab(NAMES[name].replace("&", "")), PRODUCTS[name].label)
        self.units = QComboBox()
        self.units.addItem("in", "in")
        self.units.addItem("cm", "cm")
        self.width_spin = QDoubleSpinBox()
        self.width_spin.setDecimals(2)
        self.width_spin.setKeyboardTracking(False)  # typing 12 does not render 1 first
        self.width_spin.setToolTip("One tile's printed width; its height follows its shape")
        reset = QPushButton("At its DPI")
        reset.setToolTip(f"Back to the tile's own size: its pixels at {self.dpi:g} DPI")
        reset.clicked.connect(self.reset_size)
        self.picture = QLabel("Rendering…")
        self.picture.setAlignment(Qt.AlignCenter)
        self.picture.setMinimumSize(480, 360)
        self.picture.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.save_button = QPushButton("&Save…")
        self.save_all_button = QPushButton("Save &all…")
        copy = QPushButton("&Copy")
        close = QPushButton("Close")
        self.save_button.clicked.connect(self.save)
        self.save_all_button.clicked.connect(self.save_all)
        copy.clicked.connect(self.copy)
        close.clicked.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.products, 1)
        top.addWidget(QLabel("One tile"))
        top.addWidget(self.width_spin)
        top.addWidget(self.units)
        top.addWidget(reset)
        buttons = QHBoxLayout()
        buttons.addWidget(self.caption, 1)
        for button in (copy, self.save_button, self.save_all_button, close):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.picture, 1)
        layout.addLayout(buttons)
        for k in range(len(PRODUCTS)):
            QShortcut(QKeySequence(str(k + 1)), self, lambda k=k: self.products.setCurrentIndex(k))
        QShortcut(QKeySequence.Save, self, self.save)
        QShortcut(QKeySequence.Copy, self, self.copy)
        self.shown: Any = None  # the Mockup on screen
        self._closed = False  # answers that come after the dialog closed are dropped
        self._asked = 0  # the newest render asked for: older answers are dropped
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.render)
        saved = self.state.value("mockup/product", "swatch") if self.state else "swatch"
        self.products.setCurrentIndex(list(PRODUCTS).index(saved) if saved in PRODUCTS else 3)
        units = self.state.value("mockup/units", "in") if self.state else "in"
        self.units.setCurrentIndex(max(0, self.units.findData(units)))
        self._set_units()
        self.reset_size()
        self.products.currentChanged.connect(lambda _: self.render())
        self.units.currentIndexChanged.connect(lambda _: (self._set_units(), self.render()))
        self.width_spin.valueChanged.connect(lambda _: self._debounce.start())
        self.resize(1100, 860)
        self.render()

    # -- what is asked -----------------------------------------------------------------------
    def product(self) -> str:
        return list(PRODUCTS)[self.products.currentIndex()]

    def unit(self) -> str:
        return self.units.currentData()

    def tile_in(self) -> tuple[float, float]:
        width = self.width_spin.value() / (CM_PER_INCH if self.unit() == "cm" else 1.0)
        h, w = self.pixels.shape[:2]
        return width, width * h / w

    def _set_units(self) -> None:
        """Keep the printed width as the units change: 10 in becomes 25.4 cm."""
        inches = getattr(self, "_inches", None)
        factor = CM_PER_INCH if self.unit() == "cm" else 1.0
        self.width_spin.blockSignals(True)
        self.width_spin.setRange(0.1 * factor, 1200 * factor)
        self.width_spin.setSuffix(f" {self.unit()}")
        if inches is not None:
            self.width_spin.setValue(inches * factor)
        self.width_spin.blockSignals(False)

    def reset_size(self) -> None:
        self.width_spin.setValue(self.pixels.shape[1] / self.dpi * (CM_PER_INCH if self.unit() == "cm" else 1.0))

    # -- rendering ------------------------------------------------------------------------------
    def render(self) -> None:
        self._debounce.stop()
        self._stop_rendering()
        self._asked += 1
        asked, product, tile_in, unit = self._asked, self.product(), self.tile_in(), self.unit()
        self._inches = tile_in[0]
        if self.state is not None:
            self.state.setValue("mockup/product", product)
            self.state.setValue("mockup/units", unit)
        pixels, repeat = self.pixels, self.repeat
        self.caption.setText(f"Rendering the {product}…")

        def run(ctx):
            from desktop.engine.mockups import render

            return render(pixels, repeat, product, tile_in, units=unit, check_cancelled=ctx.check_cancelled)

        self._rendering = self.submit("mockup", run, lane=Lane.IO, title=f"Mockup: {product}",
                                      on_done=lambda snap: self._show(asked, snap.result),
                                      on_failed=lambda message: self._failed(asked, message))

    def _stop_rendering(self) -> None:
        if self._rendering is not None and self.cancel is not None:
            self.cancel(self._rendering)  # (False, harmlessly, when it has finished)
        self._rendering = None

    def done(self, result: int) -> None:
        self._closed = True
        self._debounce.stop()
        self._stop_rendering()
        super().done(result)

    def _say(self, text: str) -> None:
        if not self._closed:
            self.caption.setText(text)

    def _show(self, asked: int, made) -> None:
        if asked != self._asked or self._closed:
            return
        self.shown = made
        self._fit()
        across, down = made.repeats
        w, h = made.tile_in
        dpi = self.pixels.shape[1] / w
        least = self.print_dpi
        soft = f" At {dpi:.0f} DPI it prints soft: QA asks for {least} at least." if dpi < least - 0.5 else ""
        self.caption.setText(f"{PRODUCTS[made.product].label}. One tile {_size(w, h, self.unit())} "
                             f"({dpi:.0f} DPI, {made.repeat}): {across:.1f} across its "
                             f"{_size(made.surface_in[0], None, self.unit())}, {down:.1f} down.{soft}")

    def _failed(self, asked: int, message: str) -> None:
        if asked == self._asked and not self._closed:
            self.shown = None
            self.picture.setText("")
            self.caption.setText(f"Could not render this mockup: {message}")

    def _fit(self) -> None:
        if self.shown is not None:
            pixmap = QPixmap.fromImage(qimage_from_array(self.shown.image))
            self.picture.setPixmap(pixmap.scaled(self.picture.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    # -- out ------------------------------------------------------------------------------------
    def _source(self) -> dict[str, Any]:
        return {"title": self.title, "sha256": self.metadata.get("sha256"),
                "library_id": self.metadata.get("library_id")}

    def copy(self) -> None:
        if self.shown is not None:
            QGuiApplication.clipboard().setImage(qimage_from_array(self.shown.image))
            self.caption.setText("Copied to the clipboard.")

    def save(self) -> None:
        if self.shown is None:
            return
        made = self.shown
        path, _ = QFileDialog.getSaveFileName(self, "Save the mockup", f"{file_stem(self.title)}-{made.product}.png",
                                              "PNG (*.png)")
        if not path:
            return
        source = self._source()

        def run(ctx):
            return _write(Path(path), made, source)

        self.submit("mockup-save", run, lane=Lane.IO, title="Saving the mockup",
                    on_done=lambda snap: self._say(f"Saved {snap.result}"),
                    on_failed=self._save_failed)

    def save_all(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save a mockup of every product to")
        if not folder:
            return
        pixels, repeat, tile_in, unit = self.pixels, self.repeat, self.tile_in(), self.unit()
        stem, source = file_stem(self.title), self._source()

        def run(ctx):
            from desktop.engine.mockups import render

            written = []
            for k, product in enumerate(PRODUCTS):
                ctx.check_cancelled()
                ctx.progress(k, len(PRODUCTS), f"Rendering the {product}")
                made = render(pixels, repeat, product, tile_in, units=unit, check_cancelled=ctx.check_cancelled)
                written.append(_write(Path(folder) / f"{stem}-{product}.png", made, source))
            ctx.progress(len(PRODUCTS), len(PRODUCTS), "Saved")
            return written

        self.submit("mockups", run, lane=Lane.IO, title=f"Mockups of {self.title}",
                    on_done=lambda snap: self._say(f"Saved {len(snap.result)} mockups in {folder}"),
                    on_failed=self._save_failed)


    def _save_failed(self, message: str) -> None:
        """(With the dialog closed, the window's status bar has said why.)"""
        if not self._closed:
            self._say(f"Not saved: {message}")
            QMessageBox.warning(self, "Could not save", message)


def _size(w: float, h: float | None, unit: str) -> str:
    if h is None and unit == "in" and w >= 48:
        return f"{w / 12:.3g} ft"
    k, digits = (CM_PER_INCH, 1) if unit == "cm" else (1.0, 2 if w < 10 else 1)
    return f"{w * k:.{digits}f}" + (f" × {h * k:.{digits}f}" if h is not None else "") + f" {unit}"


def _write(path: Path, made, source: dict[str, Any]) -> str:
    from desktop.engine.images import save_png
    from desktop.errors import UserError

    try:
        return str(save_png(path, made.image, made.metadata(source)))
    except OSError as exc:
        raise UserError(f"could not write {path}: {exc.strerror or exc}") from None
