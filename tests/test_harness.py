"""The test harness itself: nothing a test leaves behind can hold the run for ever."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from conftest import subprocess_env

HERE = Path(__file__).resolve().parent

CLOSE_ASKS = '''
from PySide6.QtWidgets import QMessageBox, QWidget


class Asks(QWidget):
    def closeEvent(self, event):  # as the main window does over running work
        QMessageBox.question(self, "Quit Tessera?", "This job is still running")
        event.accept()


def test_fails_then_its_teardown_asks(qtbot):
    w = Asks()
    qtbot.addWidget(w)  # pytest-qt closes it in the teardown
    w.show()
    assert False, "the test's own failure"


KEPT = []  # pytest-qt holds its widgets weakly; a fixture (the main window's) keeps its own


def test_passes_but_leaves_a_question_open(qtbot):
    w = Asks()
    KEPT.append(w)
    qtbot.addWidget(w)
    w.show()
'''

TEARDOWN_BLOCKS = '''
import threading

import pytest


@pytest.fixture
def stuck():
    yield
    threading.Event().wait()  # a teardown that never returns


def test_fails_with_a_stuck_teardown(stuck):
    assert False
'''


def _pytest(tmp_path: Path, source: str, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_case.py").write_text(source)
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-o", "timeout=120", "-o", "timeout_method=thread", str(tmp_path / "test_case.py")],
        cwd=tmp_path, env=subprocess_env(**env), capture_output=True, text=True, timeout=200)
    return done, time.monotonic() - start


def test_an_unanswered_modal_fails_its_test_with_the_dialogs_title(tmp_path):
    done, _ = _pytest(tmp_path, CLOSE_ASKS)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    # both tests fail (the first for its own assert too), each naming the dialog that was left open
    for test in ("test_fails_then_its_teardown_asks", "test_passes_but_leaves_a_question_open"):
        assert f"ERROR at teardown of {test}" in out, out
    assert "'Quit Tessera?' (This job is still running)" in out
    assert "the test's own failure" in out


def test_a_failed_tests_teardown_runs_under_a_limit(tmp_path):
    """pytest-timeout's timer is off once a test fails; the harness's own limit still ends the run."""
    done, seconds = _pytest(tmp_path, TEARDOWN_BLOCKS, TESSERA_TEARDOWN_LIMIT_S="3")
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "Timeout" in out and "threading.Event().wait()" in out, out  # every stack, dumped
    assert seconds < 100  # ended by the 3 s teardown limit, not by pytest-timeout's 120 s


USES_SHARED = '''
def test_reads_a_real_texture(shared_textures):
    assert shared_textures.is_dir()


def test_another(shared_textures):
    assert shared_textures.is_dir()
'''


def test_without_the_shared_textures_tests_skip_aloud_and_ci_fails(tmp_path):
    """(The copied conftest looks for ../shared beside tmp_path's parent, where there is none.)"""
    local, _ = _pytest(tmp_path, USES_SHARED, CI="")
    assert local.returncode == 0 and "2 skipped" in local.stdout, local.stdout
    assert "2 tests skipped: the real textures are not at" in local.stdout
    ci, _ = _pytest(tmp_path, USES_SHARED, CI="true")
    assert ci.returncode == 1 and "2 errors" in ci.stdout, ci.stdout
    assert "CI runs with ../shared beside the clone" in ci.stdout
