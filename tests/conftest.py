"""Shared test setup: every test gets its own TESSERA_HOME, so nothing touches the user's files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _shared_textures() -> Path:
    """../shared/data/textures beside the clone; a run from a copy inside it (mutmut runs the tests
    from ./mutants) finds it beside the nearest folder above that has one."""
    for folder in ROOT.parents:
        if (folder / "shared" / "data" / "textures").is_dir():
            return folder / "shared" / "data" / "textures"
    return ROOT.parent / "shared" / "data" / "textures"


SHARED_DATA = _shared_textures()

# Two xdist workers share CI's two cores, each starting render processes of its own. Torch's OpenMP
# threads spin while they wait for each other, so a second thread per process on a busy machine turned
# a 10 s tiny training into more than 240 s; and the render process's usual priority (10 below the
# window) left it a tenth of a core beside the other worker. Both are set before anything imports torch
# (this file is read first) and inherited by every process a test starts.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TESSERA_WORKER_NICENESS", "0")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "tessera-home"
    monkeypatch.setenv("TESSERA_HOME", str(home))
    monkeypatch.delenv("TESSERA_LIBRARY", raising=False)
    monkeypatch.setenv("TESSERA_GPU_PROBE", "off")  # the probe itself is tested in test_hardware.py
    monkeypatch.setenv("TESSERA_OFFLINE", "1")  # no test reaches the network (downloads test a loopback hub)
    # no test touches this machine's keyring: none at all, unless a test sets one of its own
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    if "keyring" in sys.modules:
        import keyring
        from keyring.backends import fail

        keyring.set_keyring(fail.Keyring())
    return home


# -- nothing waits for ever -------------------------------------------------------------------------
# A modal that nobody answers runs its own event loop until someone does: under test, no one will.
# The guard below answers it (rejects it) after MODAL_GRACE_MS and fails the test with its title.
# Tests that open a dialog on purpose answer it themselves (monkeypatch QMessageBox.question, or a
# QTimer that clicks a button), well within the grace.
MODAL_GRACE_MS = 5_000
# pytest-timeout stops its timer as soon as a test fails (its pytest_exception_interact hook, meant
# for pdb), so the teardown of a failed test ran with no limit at all: that is how a "Quit Tessera?"
# modal in a failed window test's teardown held a run for 29 minutes. Teardown gets its own limit.
TEARDOWN_LIMIT_S = int(os.environ.get("TESSERA_TEARDOWN_LIMIT_S", "240"))


class _ModalGuard:
    """An application event filter that answers a modal left open past the grace, and remembers it."""

    def __init__(self, app):
        from PySide6.QtCore import QObject

        class Filter(QObject):
            def eventFilter(inner, obj, event):
                self._seen(obj, event)
                return False

        self.app = app
        self.unanswered: list[str] = []
        self.filter = Filter()
        app.installEventFilter(self.filter)

    def _seen(self, obj, event) -> None:
        from PySide6.QtCore import QEvent, QTimer
        from PySide6.QtWidgets import QProgressDialog, QWidget

        if event.type() != QEvent.Type.Show or not isinstance(obj, QWidget):
            return
        # a progress dialog closes itself when its work ends: it asks nothing
        if not (obj.isWindow() and obj.isModal()) or isinstance(obj, QProgressDialog):
            return
        QTimer.singleShot(MODAL_GRACE_MS, lambda w=obj: self._answer(w))

    def _answer(self, widget) -> None:
        from PySide6.QtWidgets import QDialog, QMessageBox
        from shiboken6 import isValid

        if not isValid(widget) or not widget.isVisible():
            return  # answered in time
        text = widget.text() if isinstance(widget, QMessageBox) else ""
        self.unanswered.append(f"{widget.windowTitle()!r}" + (f" ({text.splitlines()[0]})" if text else ""))
        if isinstance(widget, QDialog):
            widget.done(QDialog.DialogCode.Rejected)  # ends its exec(): a question gets its Cancel
        else:
            widget.close()

    def remove(self) -> None:
        self.app.removeEventFilter(self.filter)


@pytest.fixture(autouse=True)
def unanswered_modals_fail(request):
    """A test that uses Qt fails, with the dialog's title, when a modal is left waiting for an answer."""
    if "qapp" not in request.fixturenames:
        yield None
        return
    guard = _ModalGuard(request.getfixturevalue("qapp"))
    yield guard
    guard.remove()
    if guard.unanswered:
        pytest.fail(f"a modal dialog was left unanswered and was rejected after {MODAL_GRACE_MS} ms: "
                    + "; ".join(guard.unanswered), pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item):
    """Teardown under a limit of its own (pytest-timeout's timer is off once a test has failed).

    The limit is pytest-timeout's own timer, set again: on expiry it dumps every thread's stack
    and ends the process (under xdist the worker is replaced and the test reported as crashed).
    """
    from pytest_timeout import Settings

    hook = item.config.pluginmanager.hook
    hook.pytest_timeout_cancel_timer(item=item)  # the test's own timer, if still running
    hook.pytest_timeout_set_timer(item=item, settings=Settings(TEARDOWN_LIMIT_S, "thread", False, False))
    try:
        return (yield)
    finally:
        hook.pytest_timeout_cancel_timer(item=item)


# A wait is an upper bound, never a pass condition: waitUntil returns as soon as its condition holds.
# Each is stretched PATIENCE times, so a machine whose cores are busy with other work (CI's neighbours,
# the other xdist worker) finishes the same tests, only later; a test that truly fails still fails.
PATIENCE = float(os.environ.get("TESSERA_TEST_PATIENCE", "4"))


def _test_limit_s(item) -> float:
    """The time limit pytest-timeout puts on this test (its marker, else the ini's), 0 for none."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


@pytest.fixture
def qtbot(qtbot, request):
    """pytest-qt's qtbot, with every wait's limit stretched PATIENCE times.

    A stretched wait never outlasts the test's own time limit: a wait that runs out fails as an
    assertion, with its traceback and the test's own message, while the limit kills the whole
    xdist worker with nothing in the report (a wait of 120 s × 4 under a 300 s limit did that).
    """
    wait_until = qtbot.waitUntil
    limit_s = _test_limit_s(request.node)
    ceiling_ms = int(limit_s * 0.8 * 1000) if limit_s else None

    def patient_wait_until(callback, *, timeout: int = 5000):
        stretched = int(timeout * PATIENCE)
        return wait_until(callback, timeout=min(stretched, ceiling_ms) if ceiling_ms else stretched)

    qtbot.waitUntil = qtbot.wait_until = patient_wait_until
    return qtbot


def wait_exposed(qtbot, widget) -> None:
    """Wait until a shown window is on screen (pytest-qt's waitExposed is a context manager around show)."""
    qtbot.waitUntil(lambda: widget.windowHandle() is not None and widget.windowHandle().isExposed())


SHARED_MISSING = f"the real textures are not at {SHARED_DATA}"


def running_in_ci() -> bool:
    """CI sets CI=true (.ci/run); there, a test that cannot run is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def shared_textures() -> Path:
    if not SHARED_DATA.is_dir():
        if running_in_ci():
            pytest.fail(f"{SHARED_MISSING}: CI runs with ../shared beside the clone", pytrace=False)
        pytest.skip(SHARED_MISSING)
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter):
    """One line for the tests that could not run without the shared textures (never silent)."""
    missing = [r for r in terminalreporter.stats.get("skipped", [])
               if isinstance(r.longrepr, tuple) and SHARED_MISSING in str(r.longrepr[2])]
    if missing:
        terminalreporter.write_line(
            f"{len(missing)} tests skipped: {SHARED_MISSING} (clone the project beside its shared/ folder; "
            "in CI this fails the run)", yellow=True, bold=True)


@pytest.fixture
def window(qtbot, qapp):
    """The main window, shown offscreen, with its library open."""
    from desktop.ui.app import create_window

    win = create_window(qapp, show_crash_dialogs=False)
    qtbot.addWidget(win)
    win.show()
    wait_exposed(qtbot, win)
    qtbot.waitUntil(lambda: win.lib is not None, timeout=30_000)  # the catalogue opens off the start-up path
    yield win
    from shiboken6 import isValid

    if isValid(win):  # a test may have closed it, and Qt deleted it
        # nothing left running: closing over running work asks first, and no one would answer here
        # (the workers are waited for without running the event loop, which could delete the window)
        win.cancel_all()
        for snap in win.queue.jobs():
            win.queue.get(snap.id).wait(60)
        win.close()
    win.shutdown()
    win.crash_reporter.uninstall()


@pytest.fixture
def market(monkeypatch):
    """The demo marketplace on 127.0.0.1 (desktop/library/demo_market.py), for the publishing tests."""
    from desktop.library.demo_market import DemoMarket

    monkeypatch.delenv("TESSERA_OFFLINE", raising=False)  # a loopback marketplace is this machine
    served = DemoMarket()
    yield served
    served.close()


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def one_pattern_shown(window, qtbot, style: str = "polka-dots", size: int = 96) -> int:
    """Generate one small tile of `style` into the window's library and show it; its pattern id."""
    brief = window.brief
    brief.set_style(style)
    brief.width_spin.setValue(size)
    brief.height_spin.setValue(size)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == 1 and window.library.count() == 1, timeout=30_000)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id is not None, timeout=30_000)
    return window.current.pattern_id


# -- the LoRA tests' tiny model and tiles (test_lora_training, _checkpoints, _knobs) ---------------------
@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The tiny random SD 1.5 pipeline (tests/tiny_sd.py), saved as a diffusers folder."""
    from tiny_sd import tiny_pipeline

    root = tmp_path_factory.mktemp("lora-model")
    tiny_pipeline(root).save_pretrained(root / "model")
    return root / "model"


@pytest.fixture(scope="module")
def tiles(tmp_path_factory):
    """Three seamless tiles to train on: two basic stripes, one half-drop checks."""
    from lora_fixtures import made_tiles

    return made_tiles(tmp_path_factory.mktemp("lora-tiles"))
