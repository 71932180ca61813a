"""The pattern library: SQLite (through SQLAlchemy 2, migrated by alembic) is the truth, files
live in a content-addressed store. No Qt here.

The catalogue's names are imported when first asked for, so a light module of this package
(the colour names the Library dock lists, say) does not bring SQLAlchemy onto the window's
start-up path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# the orders Library.list gives (here, not in the catalogue, for the CLI's parser and the window's
# Library dock, which must not import SQLAlchemy to list them)
SORTS = ("newest", "oldest", "rating", "title", "changed")

__all__ = ["ChangeSet", "Library", "LibraryCorrupt", "LibraryError", "LibraryLocked", "restore_latest_backup"]

if TYPE_CHECKING:
    from desktop.library.catalogue import (
        ChangeSet,
        Library,
        LibraryCorrupt,
        LibraryError,
        LibraryLocked,
    )
    from desktop.library.recovery import restore_latest_backup


def __getattr__(name: str) -> Any:
    if name == "restore_latest_backup":
        from desktop.library import recovery

        return recovery.restore_latest_backup
    if name in __all__:
        from desktop.library import catalogue

        return getattr(catalogue, name)
    raise AttributeError(f"module 'desktop.library' has no attribute {name!r}")
