"""A full disk is a clear message and loses nothing: no half file, no row without its file."""

import errno
import os

import numpy as np
import pytest

from desktop.cli import main
from desktop.library import Library, LibraryError


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_generate_on_a_full_disk(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("desktop.engine.images.atomic_write_bytes", full_disk)
    out = tmp_path / "out"
    code = main(["generate", "--style", "checks", "--size", "64", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # the folder was made, nothing half-written in it


def test_the_real_atomic_write_leaves_nothing_when_the_disk_fills(tmp_path, monkeypatch):
    from desktop.config import atomic_write_bytes

    def fsync_fails(fd):  # a full disk often surfaces only when the data is flushed
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("desktop.config.os.fsync", fsync_fails)
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "tile.png", b"x" * 100_000)
    assert list(tmp_path.iterdir()) == []


def test_the_library_refuses_cleanly_on_a_full_disk(tmp_path, monkeypatch):
    with Library(tmp_path / "lib") as lib:
        monkeypatch.setattr("desktop.library.catalogue.atomic_write_bytes", full_disk)
        tile = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
        with pytest.raises(LibraryError, match="No space left"):
            lib.add_tile(tile, {"style": "checks"})
        assert lib.count() == 0 and lib.check()["ok"]
        monkeypatch.undo()
        assert lib.add_tile(tile, {"style": "checks"}).added == [1]  # and works again when space returns
