"""Kill an importing process with SIGKILL inside its write window; the library must stay whole.

Each kill is aimed at the write window: a random moment after the child's first file is on disk
and before it has finished. Before any repair, `check` finds quick_check ok and every committed
pattern with its file; what a kill can leave (files written ahead whose rows never committed,
half-written temp files) is only ever stray or partial, and a repair registers or removes it all.
After a reconcile the vector index holds exactly SQLite's ids. 30 kills here; the 1,000-kill
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

KILLS = 30
FILES = 1200  # enough that the last kill still finds files to write


def make_files(folder, n=400):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray((rng.random((24, 24, 3)) * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")


def kill_once(root, folder, rng) -> bool:
    """Kill one importing child; whether the kill landed mid-write (first file written, not finished)."""
    child = subprocess.Popen([sys.executable, str(ROOT / "tests" / "crash_child.py"), str(root), str(folder)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT, env=subprocess_env())
    assert child.stdout.readline().strip() == "ready"
    said = child.stdout.readline().strip()  # "writing" once its first file is on disk; "finished"
    if said == "writing":
        time.sleep(rng.uniform(0.0, 0.05))
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    return said == "writing" and "finished" not in child.stdout.read()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.timeout(600)  # each kill starts a Python that imports the library: slow on a busy machine
def test_sigkill_during_import_never_breaks_the_library(tmp_path):
    folder = tmp_path / "incoming"
    make_files(folder, n=FILES)
    root = tmp_path / "lib"
    rng = random.Random(int(os.environ.get("TESSERA_CRASH_SEED", "7")))
    mid_write = left_behind = 0
    for _ in range(KILLS):
        mid_write += kill_once(root, folder, rng)
        with Library(root) as lib:  # quick_check runs on open and raises if the database is damaged
            found = lib.check()  # before any repair: what the kill left
            assert found["quick_check"] == "ok"
            assert found["missing_files"] == []  # no committed row without its file
            left_behind += bool(found["stray_files"] or found["partial_files"])
            repaired = lib.check(repair=True)  # what `tessera library check` does
            assert len(repaired["repairs"]) >= len(found["stray_files"]) + len(found["partial_files"])
            after = lib.check()
            assert after["stray_files"] == [] and after["partial_files"] == [] and after["missing_files"] == []
            search.reconcile(lib)
            with lib.engine.connect() as conn:
                truth = set(conn.exec_driver_sql("SELECT id FROM pattern").scalars())
            assert search.index(lib).ids() == truth
    # the kills hit the write window, not idle processes, and some of them cut a batch in two
    assert mid_write >= 0.9 * KILLS, f"only {mid_write} of {KILLS} kills landed mid-write"
    assert left_behind > 0
    print(f"{mid_write} of {KILLS} kills landed mid-write; {left_behind} left stray or partial files")
    with Library(root) as lib:
        assert lib.count() > 0  # the kills did let some imports commit
