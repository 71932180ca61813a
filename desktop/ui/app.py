"""Start the desktop app: settings, logging, theme, the job queue and the main window.

Kept light: nothing here imports torch, diffusers, peft, open_clip or lancedb.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.config import load_settings, resolve_paths
from desktop.jobs import JobQueue
from desktop.logs import setup_logging
from desktop.ui.crash_dialog import CrashReporter
from desktop.ui.main_window import MainWindow
from desktop.ui.theme import apply_dark_theme

log = logging.getLogger("tessera.ui")


def create_window(app: QApplication, show_crash_dialogs: bool = True) -> MainWindow:
    paths = resolve_paths()
    log_file = setup_logging(paths.log_file)
    settings = load_settings(paths.settings_file)
    apply_dark_theme(app)
    queue = JobQueue(io_workers=2)
    window = MainWindow(queue, paths, settings)
    window.crash_reporter = CrashReporter(log_file, show_dialogs=show_crash_dialogs)
    app.aboutToQuit.connect(lambda: queue.shutdown(timeout=2.0))
    log.info("Tessera %s started; library at %s", __version__, window.library_dir)
    return window


def main(argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("Tessera")
    app.setOrganizationName("Tessera")
    app.setApplicationVersion(__version__)
    window = create_window(app)
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
