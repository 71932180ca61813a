"""The dark theme: Fusion with a neutral grey palette, so colours in patterns read true."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

ACCENT = QColor(74, 144, 226)


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    base, window, text = QColor(30, 30, 32), QColor(43, 43, 46), QColor(222, 222, 222)
    for role, colour in (
        (QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
        (QPalette.AlternateBase, QColor(38, 38, 41)), (QPalette.ToolTipBase, QColor(60, 60, 64)),
        (QPalette.ToolTipText, text), (QPalette.Text, text), (QPalette.Button, QColor(52, 52, 56)),
        (QPalette.ButtonText, text), (QPalette.BrightText, QColor(255, 90, 90)), (QPalette.Highlight, ACCENT),
        (QPalette.HighlightedText, QColor(255, 255, 255)), (QPalette.Link, ACCENT),
        (QPalette.PlaceholderText, QColor(130, 130, 135)),
    ):
        pal.setColor(role, colour)
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        pal.setColor(QPalette.Disabled, role, QColor(120, 120, 124))
    app.setPalette(pal)
    app.setStyleSheet(
        "QDockWidget::title { padding: 4px 6px; background: #333337; }"
        "QProgressBar { border: 1px solid #555; border-radius: 3px; text-align: center; height: 14px; }"
        "QProgressBar::chunk { background: #4a90e2; }"
        "QToolTip { border: 1px solid #555; }"
    )


ERROR_COLOUR = "#ff8a80"


def error_label() -> QLabel:
    """The red, wrapping line under a form that says what it cannot take (empty until it must)."""
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    return label
