"""Shared test setup: every test gets its own TESSERA_HOME, so nothing touches the user's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "textures"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "tessera-home"
    monkeypatch.setenv("TESSERA_HOME", str(home))
    monkeypatch.delenv("TESSERA_LIBRARY", raising=False)
    monkeypatch.setenv("TESSERA_GPU_PROBE", "off")  # the probe itself is tested in test_hardware.py
    monkeypatch.setenv("TESSERA_OFFLINE", "1")  # no test reaches the network (downloads test a loopback hub)
    return home


@pytest.fixture
def shared_textures() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real textures not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def window(qtbot, qapp):
    """The main window, shown offscreen, with its library open."""
    from desktop.ui.app import create_window

    win = create_window(qapp, show_crash_dialogs=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
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
