"""The Preview's palette strip: the tile's main colours, each as wide as its share of the tile,
with a ΔE2000 badge to the nearest brief colour (green within the QA threshold, red beyond)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QToolTip, QWidget


def _rgb(hex_colour: str) -> QColor:
    return QColor(hex_colour)


class PaletteStrip(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.colours: list[dict] = []
        self.threshold: float | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(30)
        self.setToolTip("The tile's main colours and their ΔE2000 to the nearest brief colour")
        self.hide()

    def sizeHint(self) -> QSize:
        return QSize(300, 30)

    def set_report(self, palette_check: dict | None) -> None:
        """The QA report's palette check (as_dict): its colours, shares, ΔE and threshold."""
        details = (palette_check or {}).get("details") or {}
        self.colours = [c for c in details.get("colours", []) if c.get("share", 0) > 0]
        self.threshold = (palette_check or {}).get("threshold")
        self.setVisible(bool(self.colours))
        self.update()

    def badges(self) -> list[tuple[str, str, bool]]:
        """(colour, badge text, within threshold) for each swatch, as painted."""
        out = []
        for c in self.colours:
            ok = self.threshold is None or c["delta_e"] <= self.threshold
            out.append((c["hex"], f"ΔE {c['delta_e']:.1f}", ok))
        return out

    def _rects(self) -> list[QRectF]:
        total = sum(c["share"] for c in self.colours) or 1.0
        x, rects = 0.0, []
        for c in self.colours:
            width = self.width() * c["share"] / total
            rects.append(QRectF(x, 0, width, self.height()))
            x += width
        return rects

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        painter.setFont(font)
        for rect, c, (_, text, ok) in zip(self._rects(), self.colours, self.badges()):
            painter.fillRect(rect, _rgb(c["hex"]))
            if rect.width() < 44:
                continue  # too narrow for a badge; the tooltip still tells
            badge = QRectF(rect.x() + 4, rect.y() + 6, min(rect.width() - 8, 64), rect.height() - 12)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor("#1e7d3a") if ok else QColor("#b3261e"))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignCenter, text)
        painter.end()

    def mouseMoveEvent(self, event) -> None:
        for rect, c in zip(self._rects(), self.colours):
            if rect.contains(event.position()):
                QToolTip.showText(event.globalPosition().toPoint(),
                                  f"{c['hex']}: {c['share']:.0%} of the tile, ΔE {c['delta_e']:.1f} from "
                                  f"{c['nearest']} in the brief", self)
                return
