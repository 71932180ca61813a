"""Keys act where the eye is: the curation keys work while a tile is shown, whatever has the focus.

After Generate the focus stays in the Brief, so P, X, U, 0–5 and O did nothing there, silently. This
filter hands those keys to the grid (which acts on its selection, and the selection follows the
tile shown) and O to the Preview, from anywhere in the main window. The exceptions:

- the grid itself, and the Preview canvas for its own keys (F, 1, R, B, O), handle them as before;
- a field being typed in keeps its letters and digits, and the status bar says once, while that field
  has the focus, why the key did not curate.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFormLayout,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from desktop.ui.library_panel import RATING_KEYS, STATUS_KEYS
from desktop.ui.preview import CANVAS_KEYS

KEY_NAMES = {**{k: chr(k) for k in STATUS_KEYS}, **{k: str(n) for k, n in RATING_KEYS.items()}, Qt.Key_O: "O"}


def typing_into(widget: QWidget | None) -> bool:
    """Whether keys pressed in this widget are text being typed (not read-only text)."""
    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    return isinstance(widget, QAbstractSpinBox)


def _holds(layout: QLayout, widget: QWidget) -> bool:
    for k in range(layout.count()):
        item = layout.itemAt(k)
        if item.widget() is widget or (item.layout() is not None and _holds(item.layout(), widget)):
            return True
    return False


def field_name(widget: QWidget) -> str:
    """'the Prompt field': the label a form gives the field (or its row) that holds the widget."""
    w = widget
    while w is not None and w.parentWidget() is not None:
        form = w.parentWidget().layout()
        if isinstance(form, QFormLayout):
            for row in range(form.rowCount()):
                field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
                label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if field is None or label is None or label.widget() is None:
                    continue
                if field.widget() is w or (field.layout() is not None and _holds(field.layout(), w)):
                    return f"the {label.widget().text().rstrip(':')} field"
        w = w.parentWidget()
    return "a text field"


class CurationKeys(QObject):
    """Installed on the application for one main window (`window`: its `library`, `preview`,
    `current` and status bar)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._told: QWidget | None = None  # the field the status bar has explained, while it has the focus
        QApplication.instance().installEventFilter(self)

    def remove(self) -> None:
        QApplication.instance().removeEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.KeyPress or event.key() not in KEY_NAMES:
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        focus = QApplication.focusWidget()
        if obj is not focus or focus is None or focus.window() is not self.window:
            return False  # once per key press (not again for each parent), and only in this window
        grid, canvas = self.window.library.list, self.window.preview.canvas
        if focus is grid or grid.isAncestorOf(focus) or (focus is canvas and event.key() in CANVAS_KEYS):
            return False  # they have these keys themselves
        if self.window.current is None:
            return False  # nothing shown: nothing to curate
        if typing_into(focus):
            if self._told is not focus:
                self._told = focus
                name = field_name(focus)
                self.window.statusBar().showMessage(
                    f"{KEY_NAMES[event.key()]} went into {name}, which is being typed in: click the tile or the "
                    "grid for the curation keys", 6000)
            return False
        self._told = None
        if event.key() == Qt.Key_O:
            self.window.preview.cycle_overlay()
        elif event.key() in STATUS_KEYS:
            grid.statusKey.emit(STATUS_KEYS[event.key()])
        else:
            grid.ratingKey.emit(RATING_KEYS[event.key()])
        return True
