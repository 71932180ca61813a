"""Start the desktop app: settings, logging, theme, the job queue and the main window.

Kept light: nothing here imports torch, diffusers, peft, open_clip or lancedb.
"""

from __future__ import annotations

import logging
import os
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
    app.aboutToQuit.connect(window.shutdown)
    log.info("Tessera %s started; library at %s", __version__, window.library_dir)
    return window


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why Qt could not open a window here, in words, before Qt aborts the process over it."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return ("no display found. Run Tessera in a desktop session, or use the command line "
                "(python main.py --help); QT_QPA_PLATFORM=offscreen runs the window without a screen.")
    if env.get("WAYLAND_DISPLAY"):
        return None
    from desktop.syslibs import missing_packages, package_manager, shown_command

    manager = package_manager()
    missing = missing_packages(env, manager=manager)
    if missing:
        return (f"Qt's X11 window support needs system libraries that are missing. "
                f"Install them with: {shown_command(missing, manager)} "
                "('make run' and the installer install them where they may)")
    return None


def main(argv: list[str] | None = None) -> int:
    problem = display_problem()
    if problem:
        print(f"tessera: cannot open the window: {problem}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("Tessera")
    app.setOrganizationName("Tessera")
    app.setApplicationVersion(__version__)
    window = create_window(app)
    window.show()
    code = app.exec()
    if window.stuck:
        # a worker is still inside a computation (a long step in PyTorch, say): leaving through the
        # interpreter's shutdown would tear that thread down mid-call and abort the process. The
        # library is closed or its writer's transaction is atomic, the settings are saved.
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
