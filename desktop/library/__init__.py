"""The pattern library: SQLite (through SQLAlchemy 2, migrated by alembic) is the truth, files
live in a content-addressed store. No Qt here.
"""

from desktop.library.catalogue import (
                                       ChangeSet,
                                       Library,
                                       LibraryCorrupt,
                                       LibraryError,
                                       LibraryLocked,
                                       restore_latest_backup,
)

__all__ = ["ChangeSet", "Library", "LibraryCorrupt", "LibraryError", "LibraryLocked", "restore_latest_backup"]
