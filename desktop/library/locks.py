"""The library folder's file locks: every writer shares `library.lock`, the window alone holds
`window.lock`, and a schema upgrade or a restore takes `library.lock` to itself."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from desktop.library.changeset import LibraryLocked


class FolderLock:
    """A lock on a file of the library folder, held while the library is open: shared (every writer
    holds `library.lock` so, and the window `window.lock` exclusively) or exclusive. Windows has
    no shared file locks: there every lock is exclusive, as before."""

    def __init__(self, path: Path, shared: bool = False, what: str = "another Tessera"):
        self.path = path
        self.shared = shared and os.name != "nt"
        self.fh = open(path, "a+")  # noqa: SIM115 (held open for the library's lifetime)
        if not self._take(exclusive=not self.shared):
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise LibraryLocked(f"the library at {path.parent} is open in {what} ({holder}); "
                                f"close it there first") from None
        if not self.shared:
            self.fh.seek(0)
            self.fh.truncate()
            self.fh.write(f"pid {os.getpid()}")
            self.fh.flush()

    def _take(self, exclusive: bool) -> bool:
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(self.fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self.fh.fileno(), (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    @contextlib.contextmanager
    def alone(self):
        """Held exclusively for a moment (a schema upgrade), then shared again; LibraryLocked where
        another process has the library open."""
        if self.shared and not self._take(exclusive=True):
            raise LibraryLocked(f"the library at {self.path.parent} needs its database upgraded, and another "
                                "process has it open: close the other Tessera (or script) and try again")
        try:
            yield
        finally:
            if self.shared:
                self._take(exclusive=False)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
