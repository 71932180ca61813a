"""The Preview dock: a tile drawn as it will print, repeating (1x1, 3x3, 5x5).

Copies are placed through `desktop.repeat.placements`, the same geometry the engine and
QA use, so half-drop and half-brick previews are offset exactly as the files will be.
Wheel zooms about the cursor, drag pans, F fits, 1 shows 100 %, B toggles tile bounds,
O cycles the QA overlays (seam heatmap, off-palette, repeat visibility, soft areas).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.repeat import Repeat, parse_repeat, placements
from desktop.ui.images import qimage_from_array


def _flipped(image: QImage, flip_x: bool, flip_y: bool) -> QImage:
    """A mirrored copy (QImage.flipped where this Qt has it; mirrored() is deprecated)."""
    if not (flip_x or flip_y):
        return image
    if hasattr(image, "flipped"):
        orientation = Qt.Orientation(0)
        if flip_x:
            orientation |= Qt.Horizontal
        if flip_y:
            orientation |= Qt.Vertical
        return image.flipped(orientation)
    return image.mirrored(flip_x, flip_y)


class RepeatCanvas(QWidget):
    """Paints the plane window [0, n*W) x [0, n*H) of the current tile."""

    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(240, 240)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self._images: dict[tuple[bool, bool], QImage] = {}
        self._overlays: dict[tuple[bool, bool], QImage] = {}
        self._scaled: dict[tuple, tuple[dict, QImage]] = {}  # pre-scaled copies for zoomed-out views
        self._size = (0, 0)
        self.repeat = Repeat.BASIC
        self.repeats = 3
        self.show_bounds = False
        self.dpi = 150.0  # the tile's print resolution: what "print size" shows it at
        self._zoom: float | None = None  # None: fit
        self._pan = QPointF(0, 0)
        self._drag: QPointF | None = None
        self.paint_count = 0

    # -- content ---------------------------------------------------------------------------
    def set_tile(self, image: np.ndarray | None, repeat: str | Repeat = Repeat.BASIC) -> None:
        self._images.clear()
        self._overlays.clear()
        self._scaled.clear()
        if image is None:
            self._size = (0, 0)
        else:
            base = qimage_from_array(image)
            self._images[(False, False)] = base
            self._size = (base.width(), base.height())
        new_repeat = parse_repeat(repeat)
        self.repeat = new_repeat
        self.update()

    def has_tile(self) -> bool:
        return bool(self._images)

    def set_overlay(self, rgba: np.ndarray | None) -> None:
        """An HxWx4 overlay aligned to the tile, drawn over every copy (flipped with it)."""
        self._overlays = {}  # a new dict: pre-scaled copies of the old overlay are recognised as stale
        if rgba is not None and self._images and rgba.shape[:2] == (self._size[1], self._size[0]):
            self._overlays[(False, False)] = qimage_from_array(rgba)
        self.update()

    def has_overlay(self) -> bool:
        return bool(self._overlays)

    @staticmethod
    def _variant(cache: dict[tuple[bool, bool], QImage], flip_x: bool, flip_y: bool) -> QImage:
        key = (flip_x, flip_y)
        if key not in cache:
            cache[key] = _flipped(cache[(False, False)], flip_x, flip_y)
        return cache[key]

    def _image(self, flip_x: bool, flip_y: bool) -> QImage:
        return self._variant(self._images, flip_x, flip_y)

    def set_repeats(self, n: int) -> None:
        self.repeats = n
        self.update()

    def set_show_bounds(self, on: bool) -> None:
        self.show_bounds = on
        self.update()

    # -- view transform ----------------------------------------------------------------------
    def fit(self) -> None:
        self._zoom, self._pan = None, QPointF(0, 0)
        self.update()
        self.zoomChanged.emit(self.scale())

    def set_zoom(self, scale: float) -> None:
        self._zoom = float(scale)
        self.update()
        self.zoomChanged.emit(self._zoom)

    def actual_size(self) -> None:
        self._zoom, self._pan = 1.0, QPointF(0, 0)
        self.update()
        self.zoomChanged.emit(1.0)

    def print_size(self) -> None:
        """An inch of print on an inch of this screen: the tile's pixels at its DPI against the
        screen's own density (as the monitor reports it; logical pixels, so a HiDPI screen too)."""
        screen = self.screen()
        per_inch = screen.physicalDotsPerInch() / max(screen.devicePixelRatio(), 1e-6) if screen else 96.0
        self._zoom, self._pan = per_inch / self.dpi, QPointF(0, 0)
        self.update()
        self.zoomChanged.emit(self._zoom)

    def scale(self) -> float:
        if self._zoom is not None:
            return self._zoom
        w, h = self._size
        if not w:
            return 1.0
        n = self.repeats
        return min(self.width() / (n * w), self.height() / (n * h)) * 0.98

    def _transform(self) -> QTransform:
        w, h = self._size
        n, s = self.repeats, self.scale()
        t = QTransform()
        t.translate(self.width() / 2 + self._pan.x(), self.height() / 2 + self._pan.y())
        t.scale(s, s)
        t.translate(-n * w / 2, -n * h / 2)
        return t

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        self.paint_count += 1
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 26))
        if not self._images:
            painter.setPen(QColor(150, 150, 155))
            painter.drawText(self.rect(), Qt.AlignCenter, "No tile yet.\nWrite a brief and press Generate (Ctrl+Enter).")
            return
        if self.scale() < 1.0:
            self._paint_reduced(painter)
            painter.end()
            return
        w, h = self._size
        n = self.repeats
        t = self._transform()
        painter.setTransform(t)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, self.scale() < 1.0)
        window = QRectF(0, 0, n * w, n * h)
        painter.setClipRect(window)
        visible = t.inverted()[0].mapRect(QRectF(self.rect())).intersected(window)
        spots = placements(self.repeat, w, h, visible.left(), visible.top(), visible.right(), visible.bottom())
        for spot in spots:
            painter.drawImage(QPointF(spot.x, spot.y), self._image(spot.flip_x, spot.flip_y))
            if self._overlays:
                painter.drawImage(QPointF(spot.x, spot.y), self._variant(self._overlays, spot.flip_x, spot.flip_y))
        if self.show_bounds:
            pen = QPen(QColor(255, 80, 160, 200))
            pen.setCosmetic(True)
            pen.setStyle(Qt.DashLine)
            painter.setPen(pen)
            for spot in spots:
                painter.drawRect(QRectF(spot.x, spot.y, w, h))
        painter.end()

    def _reduced(self, cache: dict, flip_x: bool, flip_y: bool, sw: int, sh: int) -> QImage:
        key = (cache is self._overlays, flip_x, flip_y, sw, sh)
        if key not in self._scaled or self._scaled[key][0] is not cache:
            base = cache[(False, False)].scaled(sw, sh, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
            self._scaled[key] = (cache, _flipped(base, flip_x, flip_y))
        return self._scaled[key][1]

    def _paint_reduced(self, painter: QPainter) -> None:
        """Zoomed out: draw copies of one pre-scaled image at whole-pixel positions.

        The scaled tile is an even number of pixels on each side, so every copy (half-drop
        and half-brick offsets included) lands on a whole pixel: no seams from rounding, and
        the smooth scaling happens once per zoom level instead of once per copy per frame.
        """
        w, h = self._size
        n, s = self.repeats, self.scale()
        sw, sh = max(2, 2 * round(w * s / 2)), max(2, 2 * round(h * s / 2))
        sx, sy = sw / w, sh / h
        ox = round(self.width() / 2 + self._pan.x() - n * sw / 2)
        oy = round(self.height() / 2 + self._pan.y() - n * sh / 2)
        window = QRectF(ox, oy, n * sw, n * sh)
        painter.setClipRect(window)
        visible = window.intersected(QRectF(self.rect()))
        spots = placements(self.repeat, w, h, (visible.left() - ox) / sx, (visible.top() - oy) / sy,
                           (visible.right() - ox) / sx, (visible.bottom() - oy) / sy)
        for spot in spots:
            at = QPointF(ox + round(spot.x * sx), oy + round(spot.y * sy))
            painter.drawImage(at, self._reduced(self._images, spot.flip_x, spot.flip_y, sw, sh))
            if self._overlays:
                painter.drawImage(at, self._reduced(self._overlays, spot.flip_x, spot.flip_y, sw, sh))
        if self.show_bounds:
            pen = QPen(QColor(255, 80, 160, 200))
            pen.setStyle(Qt.DashLine)
            painter.setPen(pen)
            for spot in spots:
                painter.drawRect(QRectF(ox + round(spot.x * sx), oy + round(spot.y * sy), sw, sh))

    # -- interaction ----------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        if not self._images:
            return
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        old = self.scale()
        new = max(0.02, min(32.0, old * factor))
        # keep the point under the cursor still
        cursor = event.position() - QPointF(self.width() / 2, self.height() / 2) - self._pan
        self._pan -= cursor * (new / old - 1.0)
        self._zoom = new
        self.update()
        self.zoomChanged.emit(new)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            self._pan += event.position() - self._drag
            self._drag = event.position()
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()

    def keyPressEvent(self, event) -> None:
        found = CANVAS_KEYS.get(event.key())
        if found is not None and not event.modifiers() & ~Qt.KeypadModifier:
            getattr(self, found[2])()
        else:
            super().keyPressEvent(event)

    def toggle_bounds(self) -> None:
        self.set_show_bounds(not self.show_bounds)

    def cycle_overlay(self) -> None:
        if isinstance(self.parent(), PreviewPanel):
            self.parent().cycle_overlay()


# the canvas's keys, which Help ▸ Keyboard shortcuts lists: key -> (shown as, what it does, method)
CANVAS_KEYS = {Qt.Key_F: ("F", "Fit the repeat in the Preview", "fit"),
               Qt.Key_1: ("1", "Show the tile at 100 %", "actual_size"),
               Qt.Key_R: ("R", "Show the tile at its printed size (its DPI against the screen's)", "print_size"),
               Qt.Key_B: ("B", "Show or hide the tile's bounds", "toggle_bounds"),
               Qt.Key_O: ("O", "Next QA overlay (seam heatmap, palette, …)", "cycle_overlay")}
CANVAS_MOUSE = (("Wheel", "Zoom about the pointer"), ("Drag", "Pan"), ("Double-click", "Fit"))


class PreviewPanel(QWidget):
    """The canvas with its toolbar: repeat count, bounds, fit, 100 %."""

    starterRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = RepeatCanvas(self)
        self.starter = QPushButton("Generate a starter pattern", self.canvas)
        self.starter.setToolTip("A botanical toss in a half-drop repeat, made by the procedural engine")
        self.starter.clicked.connect(self.starterRequested)
        self.starter.resize(self.starter.sizeHint())
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        self.repeat_buttons = QButtonGroup(self)
        for n in (1, 3, 5):
            button = QToolButton(text=f"{n}×{n}", checkable=True)
            button.setToolTip(f"Show the tile repeated {n}×{n}")
            self.repeat_buttons.addButton(button, n)
            bar.addWidget(button)
        self.repeat_buttons.button(3).setChecked(True)
        self.repeat_buttons.idClicked.connect(self.canvas.set_repeats)
        self.bounds = QCheckBox("Tile bounds")
        self.bounds.setToolTip("Outline each copy of the tile (B)")
        self.bounds.toggled.connect(self.canvas.set_show_bounds)
        bar.addWidget(self.bounds)
        bar.addStretch(1)
        fit = QToolButton(text="Fit")
        fit.setToolTip("Fit the repeat in the view (F, or double-click)")
        fit.clicked.connect(self.canvas.fit)
        actual = QToolButton(text="100%")
        actual.setToolTip("One tile pixel per screen pixel (1)")
        actual.clicked.connect(self.canvas.actual_size)
        printed = QToolButton(text="Print size")
        printed.setToolTip("An inch of print on an inch of screen: the tile at its DPI (R)")
        printed.clicked.connect(self.canvas.print_size)
        self.overlay_combo = QComboBox()
        self.overlay_combo.setToolTip("Show a QA overlay over the repeat (O cycles)")
        self.overlay_combo.currentIndexChanged.connect(self._overlay_chosen)
        self._heat: dict[str, np.ndarray] = {}
        self.set_overlays({})
        bar.addWidget(QLabel("Overlay"))
        bar.addWidget(self.overlay_combo)
        self.zoom_label = QLabel("")
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z:.0%}"))
        for widget in (self.zoom_label, fit, actual, printed):
            bar.addWidget(widget)
        self.caption = QLabel("")
        self.caption.setStyleSheet("color: #9a9aa0; padding: 2px 8px;")
        # a long caption is cut at the dock's edge, never widens the dock (and squeezes the Brief)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setMinimumWidth(0)
        from desktop.ui.palette_strip import PaletteStrip

        self.palette_strip = PaletteStrip(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.palette_strip)
        layout.addWidget(self.caption)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_starter()

    def _place_starter(self) -> None:
        c = self.canvas
        self.starter.move((c.width() - self.starter.width()) // 2, c.height() // 2 + 40)
        self.starter.setVisible(not c.has_tile())

    def show_tile(self, image: np.ndarray | None, repeat: str, caption: str = "", dpi: float | None = None) -> None:
        self.canvas.set_tile(image, repeat)
        self.canvas.dpi = float(dpi or 150)
        self._place_starter()
        self.caption.setText(caption)
        self.caption.setToolTip(caption)
        self.set_overlays({})
        self.palette_strip.set_report(None)

    def set_overlays(self, heat: dict[str, np.ndarray]) -> None:
        """QA overlays (HxW heat in 0..1) by check name; the chosen one stays chosen when it exists."""
        current = self.overlay_combo.currentData()
        self._heat = dict(heat)
        self.overlay_combo.blockSignals(True)
        self.overlay_combo.clear()
        self.overlay_combo.addItem("None", None)
        for name in OVERLAY_LABELS:
            if name in heat:
                self.overlay_combo.addItem(OVERLAY_LABELS[name], name)
        self.overlay_combo.setEnabled(bool(heat))
        index = self.overlay_combo.findData(current) if current else 0
        self.overlay_combo.setCurrentIndex(max(0, index))
        self.overlay_combo.blockSignals(False)
        self._overlay_chosen()

    def choose_overlay(self, name: str | None) -> None:
        index = self.overlay_combo.findData(name)
        self.overlay_combo.setCurrentIndex(max(0, index))

    def _overlay_chosen(self) -> None:
        name = self.overlay_combo.currentData()
        if name is None or name not in self._heat:
            self.canvas.set_overlay(None)
            return
        from desktop.engine.qa.overlay import heat_rgba

        self.canvas.set_overlay(heat_rgba(self._heat[name]))

    def cycle_overlay(self) -> None:
        if self.overlay_combo.count() > 1:
            self.overlay_combo.setCurrentIndex((self.overlay_combo.currentIndex() + 1) % self.overlay_combo.count())


OVERLAY_LABELS = {"seam": "Seam heatmap", "palette": "Off-palette", "visibility": "Repeat visibility",
                  "sharpness": "Soft areas", "contrast": "Lightness"}
