"""Unhandled errors: logged with their traceback, shown in a dialog that names the log file.

The app stays open; a bug in one action must not cost the user her session.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("tessera.ui")


class CrashReporter(QObject):
    """Installs sys.excepthook and threading.excepthook; shows errors on the main thread."""

    errorRaised = Signal(str, str)  # message, traceback

    def __init__(self, log_file: Path | None, show_dialogs: bool = True):
        super().__init__()
        self.log_file = log_file
        self.show_dialogs = show_dialogs
        self.reported: list[str] = []
        self.errorRaised.connect(self._show)
        self._previous = sys.excepthook
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def _hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        detail = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unhandled error:\n%s", detail)
        self.errorRaised.emit(f"{exc_type.__name__}: {exc}", detail)  # queued if from a worker

    def _show(self, message: str, detail: str) -> None:
        self.reported.append(message)
        if not self.show_dialogs:
            return
        box = QMessageBox(QMessageBox.Critical, "Something went wrong",
                          "Tessera hit an unexpected error. Your work is safe and the app is still running.",
                          QMessageBox.Ok, QApplication.activeWindow())
        where = f"The details are in the log file:\n{self.log_file}" if self.log_file else "Logging is off."
        box.setInformativeText(f"{message}\n\n{where}")
        box.setDetailedText(detail)
        box.exec()

    def uninstall(self) -> None:
        sys.excepthook = self._previous
