"""The Kaleidoscope's window, chosen on the image: drag to move it, the wheel to size it, Shift+wheel
(or the arrow keys with Shift) to turn it, with the folded tile repeating beside it as it changes.

The outline is the engine's own (`kaleidoscope.outline`), and the preview is the engine's render
at a small size, so what is chosen here is what Generate folds. The dialog only asks: OK hands
the Brief its x, y, zoom and rotation (and jitter 0 unless the seed may still move the window)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.engine import procedural
from desktop.engine.procedural import kaleidoscope
from desktop.errors import UserError
from desktop.palettes import Palette
from desktop.ui.images import qimage_from_array
from desktop.ui.preview import RepeatCanvas
from desktop.ui.theme import error_label

PREVIEW = 256  # the preview tile's longer side (it repeats 2 x 2)
SHOWN = 1600  # the longest side of the copy of the image drawn
ZOOM_STEP = 1.1  # a wheel notch
TURN_STEP = 5.0  # degrees, a wheel notch with Shift (or Shift+arrow)
NUDGE = 0.01  # an arrow key: a hundredth of the image


class WindowPicker(QWidget):
    """The image with the window's outline; drag, wheel and keys change `params`."""

    changed = Signal()

    def __init__(self, image: np.ndarray, params: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.size_px = (image.shape[1], image.shape[0])  # the window is placed on the image at full size
        shrink = min(1.0, SHOWN / max(self.size_px))  # and drawn from a copy no larger than needed
        if shrink < 1.0:
            import cv2

            image = cv2.resize(image, (max(1, round(image.shape[1] * shrink)), max(1, round(image.shape[0] * shrink))),
                               interpolation=cv2.INTER_AREA)
        self.image = qimage_from_array(np.ascontiguousarray(image))
        self._scaled = None  # (size, QImage) for the widget's size
        self.params = params
        self.setMinimumSize(360, 300)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setCursor(Qt.OpenHandCursor)
        self._grab: QPointF | None = None

    def _frame(self) -> tuple[float, float, float]:
        """The image's scale and top-left on the widget."""
        w, h = self.size_px
        scale = min(self.width() / w, self.height() / h)
        return scale, (self.width() - w * scale) / 2, (self.height() - h * scale) / 2

    def outline(self) -> np.ndarray:
        """The window's corners, in widget pixels."""
        scale, left, top = self._frame()
        corners = kaleidoscope.outline(self.params, *self.size_px)
        return corners * scale + [left, top]

    def paintEvent(self, event) -> None:
        scale, left, top = self._frame()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.Antialiasing)
        size = (round(self.size_px[0] * scale), round(self.size_px[1] * scale))
        if self._scaled is None or self._scaled[0] != size:
            self._scaled = (size, self.image.scaled(*size, Qt.IgnoreAspectRatio, Qt.SmoothTransformation))
        painter.drawImage(QPointF(left, top), self._scaled[1])
        polygon = QPolygonF([QPointF(x, y) for x, y in self.outline()])
        painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
        painter.drawPolygon(polygon)
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.drawPolygon(polygon)
        painter.end()

    def _move(self, dx: float, dy: float) -> None:
        """Move the centre by (dx, dy) image widths and heights, within the image."""
        self.params["x"] = float(np.clip(self.params["x"] + dx, 0.0, 1.0))
        self.params["y"] = float(np.clip(self.params["y"] + dy, 0.0, 1.0))
        self.changed.emit()
        self.update()

    def _zoom(self, steps: float) -> None:
        self.params["zoom"] = float(np.clip(self.params["zoom"] / ZOOM_STEP ** steps, 0.02, 1.0))
        self.changed.emit()
        self.update()

    def _turn(self, steps: float) -> None:
        self.params["rotation"] = float((self.params["rotation"] + TURN_STEP * steps + 180.0) % 360.0 - 180.0)
        self.changed.emit()
        self.update()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            scale, left, top = self._frame()
            pos = event.position()
            inside = QPolygonF([QPointF(x, y) for x, y in self.outline()]).containsPoint(pos, Qt.OddEvenFill)
            if not inside:  # a click elsewhere puts the window there
                self.params["x"] = float(np.clip((pos.x() - left) / scale / self.size_px[0], 0, 1))
                self.params["y"] = float(np.clip((pos.y() - top) / scale / self.size_px[1], 0, 1))
                self.changed.emit()
                self.update()
            self._grab = pos
            self.setCursor(Qt.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._grab is not None:
            scale, _, _ = self._frame()
            delta = event.position() - self._grab
            self._grab = event.position()
            self._move(delta.x() / scale / self.size_px[0], delta.y() / scale / self.size_px[1])

    def mouseReleaseEvent(self, event) -> None:
        self._grab = None
        self.setCursor(Qt.OpenHandCursor)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120 or event.angleDelta().x() / 120
        if event.modifiers() & Qt.ShiftModifier:
            self._turn(steps)
        else:
            self._zoom(steps)

    def keyPressEvent(self, event) -> None:
        key, shift = event.key(), bool(event.modifiers() & Qt.ShiftModifier)
        arrows = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1), Qt.Key_Down: (0, 1)}
        if key in arrows and shift and arrows[key][1] == 0:
            self._turn(arrows[key][0])
        elif key in arrows:
            self._move(arrows[key][0] * NUDGE, arrows[key][1] * NUDGE)
        elif key in (Qt.Key_Plus, Qt.Key_Equal):
            self._zoom(1)
        elif key == Qt.Key_Minus:
            self._zoom(-1)
        else:
            super().keyPressEvent(event)


class KaleidoscopeWindowDialog(QDialog):
    """Choose the window on the image, with the tile it folds into repeating beside it."""

    def __init__(self, image: np.ndarray, path: str, params: dict, repeat: str, palette: Palette,
                 tile_size: tuple[int, int] = (PREVIEW, PREVIEW), parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Kaleidoscope window")
        self.params = dict(params, image_path=path)
        self.repeat, self.palette = repeat, palette
        # the tile at the Brief's shape, smaller (as many periods as Generate will fold), with even sides
        shrink = PREVIEW / max(tile_size)
        self.tile_size = tuple(max(16, 2 * round(side * shrink / 2)) for side in tile_size)
        self.picker = WindowPicker(image, self.params, self)
        self.preview = RepeatCanvas(self)
        self.preview.setMinimumSize(300, 300)
        self.preview.set_repeats(2)
        self.keep_jitter = QCheckBox(f"Let the seed still move it (jitter {params['jitter']:g})")
        self.keep_jitter.setChecked(False)
        self.keep_jitter.setToolTip("Unticked, every seed folds exactly this window")
        self.error = error_label()
        hint = QLabel("Drag the window or click where it should go · wheel or +/− sizes it · "
                      "Shift+wheel or Shift+←/→ turns it · arrows nudge it")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.picker, 3)
        row.addWidget(self.preview, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(hint)
        layout.addWidget(self.keep_jitter)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(980, 560)
        self._timer = QTimer(self, singleShot=True, interval=40)  # one render per burst of changes
        self._timer.timeout.connect(self.render_preview)
        self.picker.changed.connect(self._timer.start)
        self.render_preview()
        self.picker.setFocus()

    def render_preview(self) -> None:
        """The tile this window folds into (no jitter: what OK will keep), small, repeating."""
        try:
            tile = procedural.render("kaleidoscope", dict(self.params, jitter=0.0), self.repeat, *self.tile_size,
                                     self.palette, 0)
        except UserError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.preview.set_tile((tile * 255 + 0.5).astype(np.uint8), self.repeat)

    def chosen(self) -> dict:
        """What the Brief takes: the window, and jitter 0 unless the seed may still move it."""
        out = {k: round(self.params[k], 4) for k in ("x", "y", "zoom", "rotation")}
        if not self.keep_jitter.isChecked():
            out["jitter"] = 0.0
        return out
