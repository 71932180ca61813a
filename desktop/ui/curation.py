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

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QMessageBox

from desktop.jobs import JobSnapshot, Lane

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow

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

    def _first(self, lib) -> list[int]:
        self.before = lib.curation(self.ids)
        changed = self.write(lib)
        self.after = lib.curation(self.ids)
        return changed

    def redo(self) -> None:
        if self.after is None:
            self.curation._run(self.text(), self._first)
        else:
            self.curation._run(f"Redo {_lower(self.text())}", lambda lib: lib.set_curation(self.after).changed)

    def undo(self) -> None:
        # queued behind _first on the serial writer lane: `before` is there when this runs
        self.curation._run(f"Undo {_lower(self.text())}", lambda lib: lib.set_curation(self.before or {}).changed)


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
        def move(lib) -> list[int]:
            from desktop.library import search, trash

            if into_trash:
                return self._moved(trash.trash(lib, self._targets()).removed)
            result = self._moved(trash.restore(lib, self._targets()).restored)
            search.embed_pending(lib, ids=result)  # what came back, not another backlog
            return result

        self.curation._run_move(label, move, into_trash)


class _Membership(_Reversible):
    """Patterns into a collection (forward; made if it is new) or out of it; a collection the
    first run made goes again when that run is undone."""

    def __init__(self, curation: Curation, name: str, ids: list[int], into: bool):
        verb = f"Add {_plural(len(ids))} to" if into else f"Take {_plural(len(ids))} out of"
        super().__init__(f"{verb} {name}", ids, into)
        self.curation, self.name = curation, name
        self.created = False

    def _go(self, into: bool, label: str) -> None:
        def write(lib) -> list[int]:
            from desktop.library import collections

            if into:
                if self.moved is None:
                    self.created = self.name not in {c["name"] for c in collections.all_collections(lib)}
                return self._moved(collections.add(lib, self.name, self._targets(), make_missing=True).changed)
            moved = self._moved(collections.remove(lib, self.name, self._targets()).changed)
            if self.created and not collections.member_ids(lib, self.name):
                collections.delete_collection(lib, self.name)  # undoing the add that made it
            return moved

        self.curation._run_membership(label, write, self.name)


def _separator(parent) -> QAction:
    action = QAction(parent)
    action.setSeparator(True)
    return action


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


class Curation:
    """The window's curation, with its undo stack and the Edit menu."""

    def __init__(self, window: MainWindow):
        self.window = window
        self.stack = QUndoStack(window)
        self.stack.setUndoLimit(200)
        menu = window.menuBar().addMenu("&Edit")
        self.undo_action = self.stack.createUndoAction(window, "&Undo")
        self.undo_action.setShortcut(QKeySequence.Undo)
        self.redo_action = self.stack.createRedoAction(window, "&Redo")
        redo_keys = [QKeySequence(QKeySequence.Redo), QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
        self.redo_action.setShortcuts(list({k.toString(): k for k in redo_keys}.values()))  # each platform's, and both
        for action in (self.undo_action, self.redo_action):
            action.setStatusTip("Status, rating, tags and the trash can be undone")
            menu.addAction(action)
        menu.addSeparator()
        self.trash_action = window._action(menu, "Move to &trash", self.trash_selected, QKeySequence.Delete,
                                           "Put the selected patterns aside (Ctrl+Z, or Restore, brings them back)")
        # Delete and Backspace mean this only in the Library dock (elsewhere they edit text)
        self.trash_action.setShortcuts([QKeySequence(QKeySequence.Delete), QKeySequence(Qt.Key_Backspace)])
        self.trash_action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
        window.library.addAction(self.trash_action)
        window.library.trashRequested.connect(self.trash_selected)
        self.restore_action = window._action(menu, "Res&tore from trash", self.restore_selected, "Ctrl+Shift+T",
                                             "Bring the selected patterns back from the trash")
        menu.addSeparator()
        self.show_trash_action = window._action(menu, "Show t&he trash", self.show_trash, None,
                                                "The Library dock lists the trash (Trash in its status filter); pick a status to leave it")
        self.empty_action = window._action(menu, "&Empty the trash…", lambda: self.empty_trash(), None,
                                           "Delete what is in the trash for good, files too")
        self._context_menu(window)

    def _context_menu(self, window: MainWindow) -> None:
        """The grid's right-click menu: the curation keys, More like this, the trash."""
        grid = window.library.list
        grid.setContextMenuPolicy(Qt.ActionsContextMenu)
        for text, status in (("Approve\tP", "approved"), ("Reject\tX", "rejected"), ("Unflag\tU", "draft")):
            action = QAction(text, grid)
            action.triggered.connect(lambda checked=False, status=status: self.set_status(self._selected_ids(), status))
            grid.addAction(action)
        like = QAction("More like this", grid)
        like.triggered.connect(window.library._more_like_this)
        grid.addAction(like)
        for action in (_separator(grid), self.trash_action, self.restore_action):
            grid.addAction(action)

    # -- what the window asks for -------------------------------------------------------------
    def set_status(self, ids: list[int], status: str) -> None:
        self._push(f"{STATUS_LABELS[status]} {_plural(len(ids))}", ids,
                   lambda lib: lib.update_many(ids, status=status).changed)

    def set_rating(self, ids: list[int], rating: int) -> None:
        self._push(f"Rate {_plural(len(ids))} {'★' * rating or '0 stars'}", ids,
                   lambda lib: lib.update_many(ids, rating=rating).changed)

    def edit_tags(self, pattern_id: int, add: list[str], remove: list[str]) -> None:
        words = ([f"tag {', '.join(add)}"] if add else []) + ([f"untag {', '.join(remove)}"] if remove else [])
        self._push(" and ".join(words).capitalize() or "Tags", [pattern_id],
                   lambda lib: lib.update_many([pattern_id], add_tags=add, remove_tags=remove).changed)

    def rename(self, pattern_id: int, title: str) -> None:
        self._push(f"Rename #{pattern_id} “{title}”", [pattern_id],
                   lambda lib: lib.update_many([pattern_id], title=title).changed)

    def trash_selected(self) -> None:
        ids = self._selected_ids()
        if not ids and self.window.library.count():
            from desktop.ui.library_panel import NOTHING_SELECTED

            self.window.library.hint.emit(NOTHING_SELECTED)  # as the grid's other curation keys say it
            return
        if ids and self.window.library.filters().get("trashed"):  # in the trash already: Delete deletes for good
            self.empty_trash(ids)
        else:
            self.trash(ids)

    def trash(self, ids: list[int]) -> None:
        if ids and self.window.lib is not None:
            self.stack.push(_Move(self, list(dict.fromkeys(ids)), into_trash=True))

    def restore_selected(self) -> None:
        if not self.window.library.filters().get("trashed"):
            self.window.statusBar().showMessage("Restore brings back what the trash lists: Edit ▸ Show the trash.",
                                                5000)
            return
        ids = self._selected_ids()
        if ids and self.window.lib is not None:
            self.stack.push(_Move(self, ids, into_trash=False))

    def made(self, label: str, ids: list[int]) -> None:
        """Patterns a Tile action has just made: its undo moves them to the trash, its redo
        brings them back."""
        if ids and self.window.lib is not None:
            self.stack.push(_Move(self, list(ids), into_trash=False, label=label, done_already=True))

    # -- collections -----------------------------------------------------------------------------
    def collection_actions(self, menu) -> None:
        """Library ▸ Add to / Take out of / Delete a collection (the grid's right-click menu too)."""
        window = self.window
        menu.addSeparator()
        self.add_to_collection_action = window._action(
            menu, "&Add the selected to a collection…", self.add_to_collection, "Ctrl+G",
            "Gather the selected patterns in a collection, new or not (Ctrl+Z undoes)")
        self.take_out_action = window._action(
            menu, "&Take the selected out of this collection", self.take_out_of_collection, "Ctrl+Shift+G",
            "Out of the collection the Library dock shows (the patterns stay in the library)")
        self.delete_collection_action = window._action(
            menu, "Delete the c&ollection…", self.delete_collection, None,
            "Delete the collection the Library dock shows; its patterns stay in the library")
        menu.addSeparator()
        grid = window.library.list
        for action in (_separator(grid), self.add_to_collection_action, self.take_out_action):
            grid.addAction(action)

    def _shown_collection(self) -> str | None:
        return self.window.library.filters().get("collection")

    def add_to_collection(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        ids = self._selected_ids()
        if not ids or self.window.lib is None:
            self.window.statusBar().showMessage("Select the patterns to gather first.", 4000)
            return
        from desktop.library import collections

        names = [c["name"] for c in collections.all_collections(self.window.lib)]
        name, ok = QInputDialog.getItem(self.window, "Add to a collection",
                                        f"Add {_plural(len(ids))} to (a new name makes a new collection):",
                                        names, 0, True)
        if ok and name.strip():
            self.stack.push(_Membership(self, name.strip(), ids, into=True))

    def take_out_of_collection(self) -> None:
        name, ids = self._shown_collection(), self._selected_ids()
        if not name:
            self.window.statusBar().showMessage("Pick the collection in the Library dock's filter first.", 4000)
        elif ids:
            self.stack.push(_Membership(self, name, ids, into=False))

    def delete_collection(self) -> None:
        name, window = self._shown_collection(), self.window
        if not name or window.lib is None:
            window.statusBar().showMessage("Pick the collection to delete in the Library dock's filter first.", 4000)
            return
        answer = QMessageBox.question(window, "Delete collection",
                                      f"Delete the collection “{name}”? Its patterns stay in the library.",
                                      QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return
        lib = window.lib

        def done(snap: JobSnapshot) -> None:
            window.library.collection_filter.setCurrentIndex(0)  # all patterns again
            window.refresh_collections()
            window.statusBar().showMessage(f"Deleted the collection {name}: its {len(snap.result)} pattern(s) stay.",
                                           5000)

        from desktop.library import collections

        window.submit("collection", lambda ctx: collections.delete_collection(lib, name), lane=Lane.WRITER,
                      title=f"Deleting the collection {name}", on_done=done)

    def show_trash(self) -> None:
        self.window.library.show_trash()

    def empty_trash(self, ids: list[int] | None = None) -> None:
        window = self.window
        if window.lib is None:
            return
        lib = window.lib
        from desktop.library import trash

        facts = trash.summary(lib, ids)
        count = facts["patterns"]
        if not count:
            window.statusBar().showMessage("The trash is empty.", 4000)
            return
        listed = (f"\n\n{facts['published']} of them {'is' if facts['published'] == 1 else 'are'} on the marketplace: "
                  "the listings stay there, and Tessera will no longer know them." if facts["published"] else "")
        answer = QMessageBox.warning(
            window, "Delete for good",
            f"Delete {_plural(count)} {'selected in' if ids else 'in'} the trash for good?\n\n"
            "Their files, provenance and QA reports are removed from the library. This cannot be undone."
            + listed,
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return

        def done(snap: JobSnapshot) -> None:
            self.stack.clear()  # its commands may name patterns that are gone
            gone = set(snap.result or [])
            window.library.remove_patterns(gone)
            window.statusBar().showMessage(f"Deleted {_plural(len(gone))} for good.", 6000)

        window.submit("empty-trash", lambda ctx: self._counted(lib, trash.empty(lib, ids, ctx=ctx).removed),
                      lane=Lane.WRITER,
                      title="Emptying the trash", on_done=done)

    # -- the mechanism ------------------------------------------------------------------------
    def _selected_ids(self) -> list[int]:
        return [e.pattern_id for e in self.window.library.selected_entries() if e.pattern_id is not None]

    def _push(self, label: str, ids: list[int], write) -> None:
        if self.window.lib is not None and ids:
            self.stack.push(_Change(self, label, list(dict.fromkeys(ids)), write))

    def _write(self, kind: str, label: str, job, done) -> None:
        """Run `job(lib)` on the writer lane, then `done(its result)` here."""
        window = self.window
        if window.lib is not None:
            lib = window.lib
            window.submit(kind, lambda ctx: job(lib), lane=Lane.WRITER, title=label,
                          on_done=lambda snap: done(snap.result))

    def _run(self, label: str, write) -> None:
        """Run `write(lib)` (the ids it changed) on the writer lane, then show every pattern's new
        state in the grid and the Inspector."""
        window = self.window

        def job(lib):
            from desktop.library import search

            changed = write(lib)
            search.refresh_fields(lib, changed)
            return changed, lib.curation(changed)

        def done(result) -> None:
            changed, states = result
            for pid, state in states.items():
                window.library.model.refresh(pid, status=state["status"], rating=state["rating"],
                                             tags=sorted({*state["tags"], *state["auto"]}), title=state["title"])
            current = window.current
            if current is not None and current.pattern_id in states:
                window.load_library_facts(current)
            window.statusBar().showMessage(f"{label}: {len(changed)} changed · Ctrl+Z undoes", 5000)

        self._write("update", label, job, done)

    def _run_membership(self, label: str, write, name: str) -> None:
        window = self.window

        def done(moved) -> None:
            window.refresh_collections()
            if self._shown_collection() == name:
                window.reload_library()
            window.statusBar().showMessage(f"{label}: {len(moved)} · Ctrl+Z undoes", 5000)

        self._write("collection", label, write, done)

    def _run_move(self, label: str, write, into_trash: bool) -> None:
        window = self.window
        asked = window.show_asks  # a pattern opened after this was asked for stays in the Preview

        def done(moved) -> None:
            ids = set(moved or [])
            in_trash_view = bool(window.library.filters().get("trashed"))
            if into_trash == in_trash_view:  # they join the grid shown: read it again, in its order
                window.reload_library()
            else:
                window.library.remove_patterns(ids, show_next=window.show_asks == asked)
            window.statusBar().showMessage(f"{label}: {len(ids)} moved · Ctrl+Z undoes", 5000)

        self._write("trash", label, lambda lib: self._counted(lib, write(lib)), done)

    def _counted(self, lib, result):
        """`result`, after saying how many patterns the trash now holds (to the Library dock)."""
        from desktop.library import trash

        self.window.library.trash_count_known.emit(trash.summary(lib)["patterns"])
        return result
