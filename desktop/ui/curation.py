"""Curation with undo: status, rating, tags and the trash, from the grid's keys, the Inspector,
Find duplicates and the menus, each an entry on one undo stack (Edit ▸ Undo, Ctrl+Z; Redo,
Ctrl+Shift+Z).

Every change is a job on the writer lane. Its first run reads how the patterns stood before and
after (Library.curation), so undo and redo put exactly that back (Library.set_curation), in one
transaction, whatever else changed them in between. The writer lane is serial, so an undo asked
for before its change has run waits behind it and finds `before` filled in. Moving to the trash
is undone by restoring; emptying the trash cannot be undone, and clears the stack (it names
patterns that are no longer there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from desktop.library import ops

STATUS_LABELS = {"approved": "Approve", "rejected": "Reject", "draft": "Unflag", "published": "Mark published"}


def _plural(n: int) -> str:
    return f"{n} pattern{'' if n == 1 else 's'}"


class _Change(QUndoCommand):
    """One curation change to some patterns: `write(lib)` applies it the first time."""

    def __init__(self, curation: Curation, label: str, ids: list[int], write):
        super().__init__(label)
        self.curation, self.ids, self.write = curation, ids, write
        self.before: dict[int, dict[str, Any]] | None = None
        self.after: dict[int, dict[str, Any]] | None = None

    def _first(self, lib):
        self.before = lib.curation(self.ids)
        changes = self.write(lib)
        self.after = lib.curation(self.ids)
        return changes

    def redo(self) -> None:
        if self.after is None:
            self.curation._run(self.text(), self._first)
        else:
            self.curation._run(f"Redo {_lower(self.text())}", lambda lib: ops.set_curation(lib, self.after))

    def undo(self) -> None:
        # queued behind _first on the serial writer lane: `before` is there when this runs
        self.curation._run(f"Undo {_lower(self.text())}", lambda lib: ops.set_curation(lib, self.before or {}))


class _Reversible(QUndoCommand):
    """A move one way (`forward`), undone by the move back, of the ids the first run actually
    moved. Subclasses do one run in `_go(forward, label)`. `done_already`: the forward move has
    happened (pushed after the fact), so the first redo does nothing."""

    def __init__(self, label: str, ids: list[int], forward: bool, done_already: bool = False):
        super().__init__(label)
        self.ids, self.forward = ids, forward
        self.moved: list[int] | None = list(ids) if done_already else None  # what the first run moved
        self.skip = done_already
        self.runs = 0

    def _targets(self) -> list[int]:
        return self.ids if self.moved is None else self.moved

    def _moved(self, result: list[int]) -> list[int]:
        if self.moved is None:
            self.moved = result
        return result

    def redo(self) -> None:
        if self.skip:
            self.skip, self.runs = False, 1
            return
        self.runs += 1
        self._go(self.forward, self.text() if self.runs == 1 else f"Redo {_lower(self.text())}")

    def undo(self) -> None:
        self._go(not self.forward, f"Undo {_lower(self.text())}")

    def _go(self, forward: bool, label: str) -> None:
        raise NotImplementedError


class _Move(_Reversible):
    """Into the trash (forward), or out of it."""

    def __init__(self, curation: Curation, ids: list[int], into_trash: bool, label: str = "",
                 done_already: bool = False):
        super().__init__(label or (f"Move {_plural(len(ids))} to the trash" if into_trash
                                   else f"Restore {_plural(len(ids))}"), ids, into_trash, done_already)
        self.curation = curation

    def _go(self, into_trash: bool, label: str) -> None:
        def move(lib):
            if into_trash:
                changes = ops.trash(lib, self._targets())
                self._moved(changes.trashed)
            else:
                changes = ops.restore(lib, self._targets())
                self._moved(changes.restored)
            return changes

        self.curation._run_move(label, move)


class _Membership(_Reversible):
    """Patterns into a collection (forward; made if it is new) or out of it; a collection the
    first run made goes again when that run is undone."""

    def __init__(self, curation: Curation, name: str, ids: list[int], into: bool):
        verb = f"Add {_plural(len(ids))} to" if into else f"Take {_plural(len(ids))} out of"
        super().__init__(f"{verb} {name}", ids, into)
        self.curation, self.name = curation, name
        self.created = False

    def _go(self, into: bool, label: str) -> None:
        def write(lib):
            from desktop.library import collections

            if into:
                if self.moved is None:
                    self.created = self.name not in {c["name"] for c in collections.all_collections(lib)}
                changes = ops.add_to_collection(lib, self.name, self._targets())
            else:  # undoing the add that made the collection takes the collection too
                changes = ops.take_out_of_collection(lib, self.name, self._targets(), delete_if_empty=self.created)
            self._moved(changes.changed)
            return changes

        self.curation._run_membership(label, write)


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]



class Curation:
    """The window's curation, with its undo stack (Edit ▸ Undo and Redo are its actions). Each
    change runs as a library operation through `catalogue.run`: the Library dock and the Inspector
    see it by the change set it broadcasts, not by being told here."""

    def __init__(self, catalogue, say: Callable[[str, int], None], parent: QWidget):
        self.catalogue, self.say, self.parent = catalogue, say, parent
        self.panel = catalogue.panel
        self.stack = QUndoStack(parent)
        self.stack.setUndoLimit(200)
        self.undo_action = self.stack.createUndoAction(parent, "&Undo")
        self.redo_action = self.stack.createRedoAction(parent, "&Redo")

    @property
    def lib(self):
        return self.catalogue.lib

    # -- what the window asks for -------------------------------------------------------------
    def set_status(self, ids: list[int], status: str) -> None:
        self._push(f"{STATUS_LABELS[status]} {_plural(len(ids))}", ids, lambda lib: ops.curate(lib, ids, status=status))

    def set_rating(self, ids: list[int], rating: int) -> None:
        self._push(f"Rate {_plural(len(ids))} {'★' * rating or '0 stars'}", ids,
                   lambda lib: ops.curate(lib, ids, rating=rating))

    def edit_tags(self, pattern_id: int, add: list[str], remove: list[str]) -> None:
        words = ([f"tag {', '.join(add)}"] if add else []) + ([f"untag {', '.join(remove)}"] if remove else [])
        self._push(" and ".join(words).capitalize() or "Tags", [pattern_id],
                   lambda lib: ops.curate(lib, [pattern_id], add_tags=add, remove_tags=remove))

    def rename(self, pattern_id: int, title: str) -> None:
        self._push(f"Rename #{pattern_id} “{title}”", [pattern_id], lambda lib: ops.curate(lib, [pattern_id], title=title))

    def trash_selected(self) -> None:
        ids = self.catalogue.selected_ids()
        if not ids and self.panel.count():
            from desktop.ui.library_panel import NOTHING_SELECTED

            self.panel.hint.emit(NOTHING_SELECTED)  # as the grid's other curation keys say it
            return
        if ids and self.panel.filters().get("trashed"):  # in the trash already: Delete deletes for good
            self.empty_trash(ids)
        else:
            self.trash(ids)

    def trash(self, ids: list[int]) -> None:
        if ids and self.lib is not None:
            self.stack.push(_Move(self, list(dict.fromkeys(ids)), into_trash=True))

    def restore_selected(self) -> None:
        if not self.panel.filters().get("trashed"):
            self.say("Restore brings back what the trash lists: Edit ▸ Show the trash.", 5000)
            return
        ids = self.catalogue.selected_ids()
        if ids and self.lib is not None:
            self.stack.push(_Move(self, ids, into_trash=False))

    def made(self, label: str, ids: list[int]) -> None:
        """Patterns a Tile action has just made: its undo moves them to the trash, its redo
        brings them back."""
        if ids and self.lib is not None:
            self.stack.push(_Move(self, list(ids), into_trash=False, label=label, done_already=True))

    # -- collections -----------------------------------------------------------------------------
    def _shown_collection(self) -> str | None:
        return self.panel.filters().get("collection")

    def add_to_collection(self) -> None:
        ids = self.catalogue.selected_ids()
        if not ids or self.lib is None:
            self.say("Select the patterns to gather first.", 4000)
            return
        from desktop.library import collections

        names = [c["name"] for c in collections.all_collections(self.lib)]
        name, ok = QInputDialog.getItem(self.parent, "Add to a collection",
                                        f"Add {_plural(len(ids))} to (a new name makes a new collection):",
                                        names, 0, True)
        if ok and name.strip():
            self.stack.push(_Membership(self, name.strip(), ids, into=True))

    def take_out_of_collection(self) -> None:
        name, ids = self._shown_collection(), self.catalogue.selected_ids()
        if not name:
            self.say("Pick the collection in the Library dock's filter first.", 4000)
        elif ids:
            self.stack.push(_Membership(self, name, ids, into=False))

    def delete_collection(self) -> None:
        name = self._shown_collection()
        if not name or self.lib is None:
            self.say("Pick the collection to delete in the Library dock's filter first.", 4000)
            return
        answer = QMessageBox.question(self.parent, "Delete collection",
                                      f"Delete the collection “{name}”? Its patterns stay in the library.",
                                      QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return
        self.catalogue.run("collection", f"Deleting the collection {name}",
                           lambda lib, ctx: ops.delete_collection(lib, name),
                           on_done=lambda changes: self.say(f"Deleted the collection {name}: its "
                                                            f"{len(changes.changed)} pattern(s) stay.", 5000))

    def empty_trash(self, ids: list[int] | None = None) -> None:
        lib = self.lib
        if lib is None:
            return
        from desktop.library import trash

        facts = trash.summary(lib, ids)
        count = facts["patterns"]
        if not count:
            self.say("The trash is empty.", 4000)
            return
        listed = (f"\n\n{facts['published']} of them {'is' if facts['published'] == 1 else 'are'} on the marketplace: "
                  "the listings stay there, and Tessera will no longer know them." if facts["published"] else "")
        answer = QMessageBox.warning(
            self.parent, "Delete for good",
            f"Delete {_plural(count)} {'selected in' if ids else 'in'} the trash for good?\n\n"
            "Their files, provenance and QA reports are removed from the library. This cannot be undone."
            + listed,
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return

        def done(changes) -> None:
            self.stack.clear()  # its commands may name patterns that are gone
            self.say(f"Deleted {_plural(len(changes.removed))} for good.", 6000)

        self.catalogue.run("empty-trash", "Emptying the trash", lambda lib, ctx: ops.empty_trash(lib, ids, ctx=ctx),
                           on_done=done)

    # -- the mechanism ------------------------------------------------------------------------
    def _push(self, label: str, ids: list[int], write) -> None:
        if self.lib is not None and ids:
            self.stack.push(_Change(self, label, list(dict.fromkeys(ids)), write))

    def _run(self, label: str, write) -> None:
        """Run `write(lib)` (a ChangeSet) as a library operation; the grid and the Inspector show
        the new states from its broadcast."""
        self.catalogue.run("update", label, lambda lib, ctx: write(lib),
                           on_done=lambda changes: self.say(f"{label}: {len(changes.changed)} changed · Ctrl+Z undoes",
                                                            5000))

    def _run_membership(self, label: str, write) -> None:
        self.catalogue.run("collection", label, lambda lib, ctx: write(lib),
                           on_done=lambda changes: self.say(f"{label}: {len(changes.changed)} · Ctrl+Z undoes", 5000))

    def _run_move(self, label: str, write) -> None:
        self.catalogue.run("trash", label, lambda lib, ctx: write(lib),
                           on_done=lambda changes: self.say(
                               f"{label}: {len(changes.trashed) + len(changes.restored)} moved · Ctrl+Z undoes", 5000))
