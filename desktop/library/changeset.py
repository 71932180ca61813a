"""What a library operation changed (`ChangeSet`), and the library's errors: the names every
library module shares, so the catalogue, the trash, collections and the operations import them
from here and not from one another (no import cycle)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.errors import UserError


class LibraryError(UserError):
    pass


class LibraryLocked(LibraryError):
    pass


class LibraryCorrupt(LibraryError):
    pass


@dataclass
class ChangeSet:
    """What one library operation changed, said once: the command prints it, the window broadcasts
    it (`library_changed`) and each panel refreshes only what it names."""

    added: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)  # deleted for good
    skipped: list[dict[str, Any]] = field(default_factory=list)  # exact duplicates
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # files refused, with the reason
    ignored: list[dict[str, Any]] = field(default_factory=list)  # files that are not tiles, left alone
    restored: list[int] = field(default_factory=list)  # brought back from the trash
    missing: list[dict[str, Any]] = field(default_factory=list)  # paths named that are not there
    trashed: list[int] = field(default_factory=list)  # moved to the trash
    # what a view needs to show the change without reading the library again (filled by ops.py)
    states: dict[int, dict[str, Any]] = field(default_factory=dict)  # curation after: status, rating, tags, title
    collections: list[str] = field(default_factory=list)  # collections whose list or brief changed
    collection_names: list[str] | None = None  # every collection's name after, when `collections` is not empty
    trash_count: int | None = None  # patterns the trash holds after, when it moved
    unknown: bool = False  # another process changed the library: which patterns, nobody said

    LISTS = ("added", "changed", "removed", "skipped", "quarantined", "ignored", "restored", "missing", "trashed",
             "collections")

    @property
    def pattern_id(self) -> int | None:
        """For one image stored: its pattern, whether added now, brought back from the trash, or
        the exact copy the library already held."""
        found = self.added or self.restored or [s["duplicate_of"] for s in self.skipped]
        return found[0] if found else None

    @property
    def touched(self) -> set[int]:
        """Every pattern whose row or facts this changed."""
        return {*self.added, *self.changed, *self.removed, *self.restored, *self.trashed, *self.states}

    def merge(self, other: ChangeSet) -> ChangeSet:
        for name in self.LISTS:
            getattr(self, name).extend(x for x in getattr(other, name)
                                       if name != "collections" or x not in self.collections)
        self.states.update(other.states)
        self.collection_names = other.collection_names if other.collection_names is not None else self.collection_names
        self.trash_count = other.trash_count if other.trash_count is not None else self.trash_count
        self.unknown = self.unknown or other.unknown
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed,
                "skipped": self.skipped, "quarantined": self.quarantined, "ignored": self.ignored,
                "restored": self.restored, "missing": self.missing,
                **({"trashed": self.trashed} if self.trashed else {}),
                **({"collections": self.collections} if self.collections else {})}

    def import_summary(self) -> str:
        """One line for an import: what came in, what was skipped, refused and left alone."""
        line = f"imported {len(self.added)}"
        if self.restored:
            line += f", restored {len(self.restored)} from the trash"
        line += f", skipped {len(self.skipped)} exact duplicate(s), quarantined {len(self.quarantined)}"
        made = [i for i in self.ignored if i.get("made_by_tessera")]
        hidden = [i for i in self.ignored if i.get("left_alone") == "hidden"]
        links = [i for i in self.ignored if i.get("left_alone") == "link"]
        others = [i for i in self.ignored if not i.get("made_by_tessera") and not i.get("left_alone")]
        if others:
            kinds = sorted({Path(i["source"]).suffix.lower() or "no extension" for i in others})
            line += f", ignored {len(others)} file(s) of types it does not read ({', '.join(kinds[:5])}" \
                    + (", …)" if len(kinds) > 5 else ")")
        if made:
            line += f", left out {len(made)} mockup(s), sheet(s) and swatch(es) Tessera made (not tiles)"
        if hidden:
            line += f", ignored {len(hidden)} hidden file(s)"
        if links:
            line += f", did not follow {len(links)} link(s) out of the folder"
        if self.missing:
            names = [Path(m["source"]).name for m in self.missing]
            line += f", did not find {len(names)} ({', '.join(names[:3])}{', …' if len(names) > 3 else ''})"
        return line

    def import_details(self, limit: int = 3) -> str:
        """Why the first `limit` files were quarantined, for a line under the summary."""
        said = [q["reason"] if q["reason"].startswith(f"{Path(q['source']).name}:")  # the decoder names it
                else f"{Path(q['source']).name}: {q['reason']}" for q in self.quarantined[:limit]]
        more = len(self.quarantined) - limit
        return "; ".join(said) + (f"; and {more} more in the library's quarantine folder" if more > 0 else "")
