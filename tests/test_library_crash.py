"""Kill an importing process with SIGKILL at random points; the library must stay whole.

After every kill: quick_check is ok, every committed pattern has its file, and after a
reconcile the vector index holds exactly SQLite's ids. 50 kills here; the 1,000-kill
version is benchmarks/crash_import.py.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, subprocess_env
from desktop.library import Library, search

KILLS = 50


def make_files(folder, n=400):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray((rng.random((24, 24, 3)) * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")


def kill_once(root, folder, rng) -> bool:
    child = subprocess.Popen([sys.executable, str(ROOT / "tests" / "crash_child.py"), str(root), str(folder)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT, env=subprocess_env())
    assert child.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.0, 0.25))
    finished = child.poll() is not None
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    return finished


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_import_never_breaks_the_library(tmp_path):
    folder = tmp_path / "incoming"
    make_files(folder)
    root = tmp_path / "lib"
    rng = random.Random(int(os.environ.get("TESSERA_CRASH_SEED", "7")))
    for _ in range(KILLS):
        kill_once(root, folder, rng)
        with Library(root) as lib:  # quick_check runs on open and raises if the database is damaged
            report = lib.check(repair=True)  # what `tessera library check` does
            assert report["quick_check"] == "ok"
            assert report["missing_files"] == []
            assert lib.check()["stray_files"] == [] and lib.check()["partial_files"] == []
            search.reconcile(lib)
            with lib.engine.connect() as conn:
                truth = set(conn.exec_driver_sql("SELECT id FROM pattern").scalars())
            assert search.index(lib).ids() == truth
    with Library(root) as lib:
        assert lib.count() > 0  # the kills did let some imports commit
