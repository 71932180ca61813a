"""The pattern library: SQLite (through SQLAlchemy 2, migrated by alembic) is the truth, files
live in a content-addressed store. No Qt here.

The catalogue's names are imported when first asked for, so a light module of this package
(the colour names the Library dock lists, say) does not bring SQLAlchemy onto the window's
start-up path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop.library.sorts import SORTS

__all__ = ["SORTS", "ChangeSet", "Library", "LibraryCorrupt", "LibraryError", "LibraryLocked", "restore_latest_backup"]

if TYPE_CHECKING:
    from desktop.library.catalogue import Library
    from desktop.library.changeset import ChangeSet, LibraryCorrupt, LibraryError, LibraryLocked
    from desktop.library.recovery import restore_latest_backup


def __getattr__(name: str) -> Any:
    if name == "restore_latest_backup":
        from desktop.library import recovery

        return recovery.restore_latest_backup
    if name == "Library":
        from desktop.library import catalogue

        return catalogue.Library
    if name in __all__:
        from desktop.library import changeset

        return getattr(changeset, name)
    raise AttributeError(f"module 'desktop.library' has no attribute {name!r}")
