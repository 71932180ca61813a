"""The Library: one folder holding `library.db` (SQLite, the truth), `files/` (content-addressed
images), `quarantine/` (files that could not be imported, with the reason) and `backups/`.

SQLite runs in WAL mode with `synchronous=FULL`, foreign keys on, a busy timeout, and
`BEGIN IMMEDIATE` for every write transaction. A lock file keeps a second Tessera out.
`quick_check` runs on open; a migration copies the database to `backups/` first.
Every write returns a ChangeSet (ids added, changed, removed) so views refresh only what changed.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.orm import Session, selectinload

from desktop.config import atomic_write_bytes, make_durable
from desktop.library import backups, importer
from desktop.library.changeset import ChangeSet, LibraryCorrupt, LibraryError
from desktop.library.importing import (
    read_and_decode,
    sha256_bytes,
)
from desktop.library.locks import FolderLock
from desktop.library.models import (
    STATUSES,
    AuditLog,
    Collection,
    CollectionMember,
    EmbeddingOutbox,
    Pattern,
    Provenance,
    QAReportRow,
    Tag,
    now,
)
from desktop.library.provenance import values as provenance_values
from desktop.library.provenance import view as provenance_view
from desktop.library.sorts import SORTS
from desktop.library.titles import tile_title

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Library:
    """The catalogue of one library folder. Opened for writing, it shares the folder's lock with
    other writers (a script beside the open window writes through SQLite's own locking, with a busy
    timeout), and `window=True` also holds the window's lock (a second window is refused). A schema
    upgrade needs the library to itself. `read_only=True` takes no lock: every connection is
    `query_only` (a write raises LibraryReadOnly), and nothing is migrated or backed up.
    `outside_changes()` says whether another process has written since it last looked."""

    def __init__(self, root: str | Path, read_only: bool = False, window: bool = False):
        self.root = Path(root).expanduser()
        self.read_only = read_only
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder {self.root}: {exc.strerror or exc}") from None
        self.files = self.root / "files"
        self.quarantine = self.root / "quarantine"
        self.backups = self.root / "backups"
        self.db_path = self.root / "library.db"
        if read_only and not self.db_path.is_file():
            raise LibraryError(f"there is no library at {self.root} yet")
        self._window_lock = FolderLock(self.root / "window.lock") if window and not read_only else None
        try:
            self._lock = None if read_only else FolderLock(self.root / "library.lock", shared=True)
        except BaseException:
            if self._window_lock is not None:
                self._window_lock.release()
            raise
        self._watch = None  # the connection that watches for other processes' commits (opened on first look)
        self._seen_version: int | None = None
        self._watch_lock = threading.Lock()  # the watching connection is asked from the writers' threads too
        self._outside_before_own = False  # another process had committed when this one began a write
        # pixels of patterns just added, handed to the embedder so it need not decode them again
        self._fresh_pixels: dict[int, Any] = {}
        self._fresh_bytes = 0  # of the arrays in _fresh_pixels
        existed = self.db_path.is_file() and self.db_path.stat().st_size > 0  # (a new library has nothing to keep)
        configure = _configure_read_only if read_only else _configure_connection
        try:
            if not read_only:
                self._check_integrity()
            self.engine = create_engine(f"sqlite:///{self.db_path}", future=True,
                                        connect_args={} if read_only else {"factory": _CommitHooked})
            event.listen(self.engine, "connect", configure)
            event.listen(self.engine, "begin", self._begin)
            if not read_only:
                event.listen(self.engine, "connect", lambda dbapi, record: setattr(dbapi, "after_commit",
                                                                                   self._own_commit_done))
            if not read_only:
                self._migrate()
                if existed:
                    self.backup_if_due()
            # reads get their own engine with deferred transactions: under WAL a reader sees a
            # consistent snapshot and never waits for the writer (BEGIN IMMEDIATE would make the
            # window's reads queue behind every commit)
            self.reader = create_engine(f"sqlite:///{self.db_path}", future=True)
            event.listen(self.reader, "connect", configure)
            event.listen(self.reader, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        except BaseException:
            self._release_locks()
            raise

    def _release_locks(self) -> None:
        for lock in (self._lock, self._window_lock):
            if lock is not None:
                lock.release()

    # -- other processes ----------------------------------------------------------------------------
    # SQLite's `PRAGMA data_version`, asked on a connection of its own, moves when any other
    # connection commits, this process's writers' included. So each of this process's writes reads
    # it twice: once it holds the write lock (BEGIN IMMEDIATE: nobody else can commit until it
    # ends), where a move means another process committed since the last look; and once it has
    # committed, as the version its own commit leaves. `outside_changes` then tells another
    # process's commits from this one's without a marker in the data. What it cannot tell apart: a
    # commit another process makes in the microseconds between this one's COMMIT and that second
    # reading (seen with the next change, not lost for good: its rows are read by every later read).
    def data_version(self) -> int:
        import sqlite3

        with self._watch_lock:
            if self._watch is None:
                self._watch = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False,
                                              timeout=5)
            return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def _begin(self, conn) -> None:
        conn.exec_driver_sql("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
        if not self.read_only and self._seen_version is not None and self.data_version() != self._seen_version:
            self._outside_before_own = True

    def _own_commit_done(self) -> None:
        if self._seen_version is not None:
            self._seen_version = self.data_version()

    def settle(self) -> None:
        """Start watching: what `outside_changes` reports is what other processes commit from now."""
        self._outside_before_own = False
        self._seen_version = self.data_version()

    def outside_changes(self) -> bool:
        """Whether another process has committed since the last look (or `settle`)."""
        version = self.data_version()
        changed = self._outside_before_own or (self._seen_version is not None and version != self._seen_version)
        self._outside_before_own = False
        self._seen_version = version
        return changed

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.engine.dispose()
        with contextlib.suppress(Exception):
            self.reader.dispose()
        if self._watch is not None:
            with contextlib.suppress(Exception):
                self._watch.close()
        self._release_locks()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_integrity(self) -> None:
        if not self.db_path.exists():
            return
        try:
            con = sqlite3.connect(self.db_path)
            try:
                result = con.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            result = str(exc)
        if result != "ok":
            latest = self.latest_backup()
            hint = f"; the latest backup is {latest}" if latest else "; there is no backup yet"
            raise LibraryCorrupt(f"the library database {self.db_path} is damaged ({result}){hint}. "
                                 f"Run 'tessera library check --restore' to restore it")

    def latest_backup(self) -> Path | None:
        return backups.latest(self.backups)

    KEEP_BACKUPS = backups.KEEP  # the newest kept; older ones go as new ones come
    BACKUP_EVERY_S = backups.EVERY_S  # a scheduled backup when the newest is older than this (checked on open)

    def backup(self, reason: str) -> Path:
        """A consistent copy of the database in backups/, the newest KEEP_BACKUPS of them (`backups.take`)."""
        return backups.take(self.db_path, self.backups, reason, self.KEEP_BACKUPS)

    def backup_if_due(self) -> Path | None:
        """The scheduled backup: one when the newest is older than BACKUP_EVERY_S (or there is none)."""
        latest = self.latest_backup()
        if latest is not None and time.time() - latest.stat().st_mtime < self.BACKUP_EVERY_S:
            return None
        try:
            return self.backup("scheduled")
        except (OSError, sqlite3.Error) as exc:  # a full disk: the library works on, the log says why
            import logging

            logging.getLogger(__name__).warning("the scheduled backup of %s failed: %s", self.db_path, exc)
            return None

    def _migrate(self) -> None:
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        existed = self.db_path.exists() and self.db_path.stat().st_size > 0
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        with self._lock.alone():  # (nobody else may have it open while its schema changes)
            self._upgrade(cfg, current, head, existed)

    def _upgrade(self, cfg, current: str | None, head: str, existed: bool) -> None:
        from alembic import command

        backup = self.backup(f"before-{head}") if existed else None
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except Exception as exc:
            raise LibraryError(f"cannot bring the library at {self.root} from schema {current} to {head} "
                               f"({exc}); it was not changed" + (f", and a copy is in {backup}" if backup else "")
                               ) from None

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # -- writing --------------------------------------------------------------------------------
    def file_path(self, pattern: Pattern) -> Path:
        return self.files / pattern.file

    def _store(self, data: bytes, digest: str, suffix: str, durable: bool = True) -> tuple[str, bool]:
        """Write the bytes at their content address (atomically; fsynced unless durable=False, when
        add_many makes the batch durable before committing its rows): (relative path, whether
        this call wrote the file). Safe on any thread."""
        relative = f"{digest[:2]}/{digest}{suffix}"
        target = self.files / relative
        with contextlib.suppress(OSError):
            if target.stat().st_size == len(data):  # a file cut short (a power cut) is written again
                return relative, False
        try:
            atomic_write_bytes(target, data, durable=durable)
        except OSError as exc:
            raise LibraryError(f"could not store the image: {exc.strerror or exc}") from None
        return relative, True

    def _discard_uncommitted(self, written: Iterable[tuple[str, str]]) -> None:
        """Remove files this process wrote, (relative path, sha256), whose rows were never committed
        (a batch rolled back, an import cancelled), unless a committed pattern holds the same bytes:
        no file without its row."""
        for relative, digest in written:
            if self.pattern_with(digest) is None:
                with contextlib.suppress(OSError):
                    (self.files / relative).unlink()

    IMPORT_THREADS = 2  # decode, look and file-writing threads of an import
    IMPORT_AHEAD = 10  # files read ahead of the one being stored
    IMPORT_PIXELS_AHEAD = 48 * 1024 * 1024  # and decoded pixels at most (144 MB of RGB); a larger file alone

    FRESH_PIXELS_BUDGET = 256 * 1024 * 1024  # bytes of decoded pixels (and small copies) kept for the embedder
    FRESH_MAX = 16_384  # patterns whose pixels or small copy are kept for it at most

    def pattern_with(self, digest: str) -> int | None:
        """The id of the pattern whose file has this sha256, or None (a read: safe on any thread)."""
        with self.reader.connect() as conn:
            return conn.execute(select(Pattern.id).where(Pattern.sha256 == digest)).scalar()

    @contextlib.contextmanager
    def _digest_lookup(self):
        """`pattern_with` for an import's decode threads, one query per file: a DBAPI connection of
        the reader, shared behind a lock (SQLAlchemy's statement cache and pool checkout cost about
        40 times the query itself, and hold the interpreter lock the decoders need)."""
        raw = self.reader.raw_connection()
        lock = threading.Lock()
        query = f"SELECT id FROM {Pattern.__tablename__} WHERE sha256 = ?"

        def lookup(digest: str) -> int | None:
            with lock:
                row = raw.driver_connection.execute(query, (digest,)).fetchone()
            return None if row is None else row[0]

        try:
            yield lookup
        finally:
            raw.close()

    def take_fresh(self, pattern_id: int) -> tuple[Any, Any] | None:
        """(decoded RGB or None, what `prepare` made of it or None) for a pattern added by this
        process and not embedded yet, or None (then the embedder reads the stored file)."""
        fresh = self._fresh_pixels.pop(pattern_id, None)
        if fresh is not None:
            self._fresh_bytes -= sum(getattr(part, "nbytes", 0) for part in fresh)
        return fresh

    def _keep_pixels(self, pattern_id: int, pixels, prepared=None) -> None:
        if pixels is None and prepared is None:
            return
        self.take_fresh(pattern_id)
        self._fresh_pixels[pattern_id] = (pixels, prepared)
        self._fresh_bytes += sum(getattr(part, "nbytes", 0) for part in (pixels, prepared))
        while self._fresh_pixels and (self._fresh_bytes > self.FRESH_PIXELS_BUDGET
                                      or len(self._fresh_pixels) > self.FRESH_MAX):
            self.take_fresh(next(iter(self._fresh_pixels)))

    def add_bytes(self, data: bytes, suffix: str, *, width: int, height: int, metadata: dict[str, Any] | None = None,
                  source: str = "", title: str = "", pixels=None, prepared=None,
                  digest: str | None = None) -> ChangeSet:
        """Store one image and its facts in one transaction. Exact duplicates are skipped.

        `digest` is the data's sha256 when the caller has it already."""
        return self.add_many([{"data": data, "suffix": suffix, "width": width, "height": height,
                               "metadata": metadata, "source": source, "title": title, "pixels": pixels,
                               "prepared": prepared, "digest": digest}])

    def add_many(self, items: list[dict[str, Any]]) -> ChangeSet:
        """Store several images and their facts in one transaction: all of them, or none.

        Each item has the keys of `add_bytes`. Files are written atomically and are on disk before
        the rows that name them are committed (each fsynced, or, for files an import wrote ahead
        ('stored'), the batch synced at once), so a crash leaves no row without its file. Exact
        duplicates, of the library or earlier in the batch, are skipped and reported.
        """
        changes = ChangeSet()
        digests = [item.get("digest") or sha256_bytes(item["data"]) for item in items]
        with self.reader.connect() as conn:
            known = dict(conn.execute(select(Pattern.sha256, Pattern.id).where(Pattern.sha256.in_(digests))).all())
        fresh, first = [], {}
        for item, digest in zip(items, digests):
            if digest in known or digest in first:
                changes.skipped.append({"source": item.get("source", ""), "duplicate_of": known.get(digest),
                                        "sha256": digest})
                continue
            first[digest] = len(fresh)
            fresh.append((item, digest))
        if not fresh:
            return self._restore_skipped(changes)
        stored, written = [], []
        try:
            ahead = []
            for item, digest in fresh:
                if item.get("stored"):  # written ahead, on an import's decode thread, not yet synced
                    relative, created = item["stored"], item.get("created", False)
                    ahead.append(self.files / relative)
                else:
                    relative, created = self._store(item["data"], digest, item["suffix"])
                stored.append(relative)
                if created:
                    written.append((relative, digest))
            try:
                make_durable(ahead)  # no row is committed before its file is on disk
            except OSError as exc:
                raise LibraryError(f"could not store the images: {exc.strerror or exc}") from None
            new_ids = self._insert_rows(fresh, stored)
        except Exception:
            self._discard_uncommitted(written)
            raise
        for skipped in changes.skipped:  # a copy of one earlier in this batch names the one kept
            if skipped["duplicate_of"] is None:
                skipped["duplicate_of"] = new_ids[first[skipped["sha256"]]]
        self._restore_skipped(changes)
        for (item, _), new_id in zip(fresh, new_ids):
            self._keep_pixels(new_id, item.get("pixels"), item.get("prepared"))
        changes.added.extend(new_ids)
        return changes

    def _restore_skipped(self, changes: ChangeSet) -> ChangeSet:
        """Exact copies of patterns in the trash bring them back: the file was asked for again.
        They are reported as restored, not skipped."""
        ids = sorted({s["duplicate_of"] for s in changes.skipped if s.get("duplicate_of") is not None})
        if ids:
            with Session(self.reader) as session:
                ids = list(session.scalars(select(Pattern.id).where(Pattern.id.in_(ids), Pattern.trashed.is_not(None))))
        back = set(self.restore_from_trash(ids)) if ids else set()
        if back:
            changes.skipped = [s for s in changes.skipped if s.get("duplicate_of") not in back]
            changes.restored.extend(sorted(back))
        return changes

    def restore_from_trash(self, ids: Iterable[int]) -> list[int]:
        """Bring patterns back from the trash, as they were, in one transaction; their vectors are
        queued in it (search.embed_pending makes them). Returns the ids brought back (those not in
        the trash are passed over; an unknown id is refused). `trash.restore` is the public way."""
        ids = sorted({int(i) for i in ids})
        with Session(self.engine) as session, session.begin():
            back = sorted(i for i, since in trashed_since(session, ids).items() if since is not None)
            if back:
                session.execute(update(Pattern).where(Pattern.id.in_(back)).values(trashed=None))
                queued = set(session.scalars(select(EmbeddingOutbox.pattern_id)
                                             .where(EmbeddingOutbox.pattern_id.in_(back))))
                session.add_all(EmbeddingOutbox(pattern_id=i) for i in back if i not in queued)
                session.add_all(AuditLog(action="restore", pattern_id=i, detail={}) for i in back)
        return back

    def _insert_rows(self, fresh: list[tuple[dict[str, Any], str]], stored: list[str]) -> list[int]:
        """The rows of a batch of new patterns, in one BEGIN IMMEDIATE transaction (Core inserts: the
        ORM's per-object bookkeeping cost more than the commit)."""
        from sqlalchemy import insert

        stamp = now()
        patterns = []
        for (item, digest), relative in zip(fresh, stored):
            meta = item.get("metadata") or {}
            tessera, a1111 = meta.get("tessera", {}), meta.get("a1111", {})
            source, title = item.get("source", ""), item.get("title", "")
            patterns.append({"sha256": digest, "file": relative, "width": item["width"], "height": item["height"],
                             "repeat": tessera.get("repeat") or a1111.get("repeat") or "basic", "status": "draft",
                             "rating": 0, "title": title or _import_title(tessera, source),
                             "created": stamp, "updated": stamp})
        table = Pattern.__table__
        with self.engine.begin() as conn:
            # an id is never given twice, even after its pattern was deleted for good: the audit
            # log, which keeps every id it has held, and the publication history stay its own
            last = max(conn.execute(select(func.max(Pattern.id))).scalar() or 0,
                       conn.execute(select(func.max(AuditLog.pattern_id))).scalar() or 0)
            for offset, row in enumerate(patterns, start=1):
                row["id"] = last + offset
            ids = list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                    patterns).scalars())
            provenance, reports, outbox, audit = [], [], [], []
            for (item, digest), pid in zip(fresh, ids):
                meta = item.get("metadata") or {}
                tessera, a1111 = meta.get("tessera", {}), meta.get("a1111", {})
                source = item.get("source", "")
                provenance.append({"pattern_id": pid, **provenance_values(tessera, a1111, source)})
                if tessera.get("qa"):
                    qa = tessera["qa"]
                    reports.append({"pattern_id": pid, "passed": bool(qa.get("passed")),
                                    "profile": str(qa.get("profile", "default")), "report": qa, "created": stamp})
                outbox.append({"pattern_id": pid})
                audit.append({"time": stamp, "action": "add", "pattern_id": pid,
                              "detail": {"source": source, "sha256": digest}})
            for model, rows in ((Provenance, provenance), (QAReportRow, reports), (EmbeddingOutbox, outbox),
                                (AuditLog, audit)):
                if rows:
                    conn.execute(insert(model.__table__), rows)
        return ids

    def add_tile(self, pixels, metadata: dict[str, Any], source: str = "generate") -> ChangeSet:
        """A generated tile (HxWx3 uint8) with its Tessera metadata, stored as PNG."""
        from desktop.engine.images import png_bytes

        data = png_bytes(pixels, metadata, dpi=int(metadata.get("dpi", 150)))
        return self.add_bytes(data, ".png", width=pixels.shape[1], height=pixels.shape[0],
                              metadata={"tessera": metadata}, source=source,
                              title=tile_title(metadata),
                              pixels=pixels if pixels.ndim == 3 and pixels.shape[2] == 3 else None)

    def import_paths(self, paths: Iterable[str | Path], ctx=None, after_batch=None, batch: int = 16,
                     prepare=None, keep_pixels: bool = True) -> ChangeSet:
        """Import files and folders (recursively): `importer.import_paths`."""
        return importer.import_paths(self, paths, ctx, after_batch, batch, prepare, keep_pixels)

    def import_file(self, path: Path) -> ChangeSet:
        return importer.import_read(self, path, read_and_decode(path))

    def update(self, pattern_id: int, *, status: str | None = None, rating: int | None = None,
               add_tags: Iterable[str] = (), remove_tags: Iterable[str] = (), title: str | None = None) -> ChangeSet:
        return self.update_many([pattern_id], status=status, rating=rating, add_tags=add_tags,
                                remove_tags=remove_tags, title=title)

    def update_many(self, ids: Iterable[int], *, status: str | None = None, rating: int | None = None,
                    add_tags: Iterable[str] = (), remove_tags: Iterable[str] = (),
                    title: str | None = None) -> ChangeSet:
        """The same change to several patterns, in one transaction (all or none), each change in
        the audit log with what it was before."""
        if status is not None and status not in STATUSES:
            raise LibraryError(f"status must be one of {', '.join(STATUSES)}, not '{status}'")
        if rating is not None and not 0 <= int(rating) <= 5:
            raise LibraryError(f"rating must be 0 to 5, not {rating}")
        if title is not None:
            title = " ".join(str(title).split())
            if not title or len(title) > 255:
                raise LibraryError("a title needs 1 to 255 characters")
        ids = list(dict.fromkeys(int(i) for i in ids))
        add = {n.strip().lower() for n in add_tags if n.strip()}
        drop = {n.strip().lower() for n in remove_tags}
        changed = []
        with Session(self.engine) as session, session.begin():
            found = {p.id: p for p in session.scalars(select(Pattern).where(Pattern.id.in_(ids))
                                                       .options(selectinload(Pattern.tags)))}
            missing = [i for i in ids if i not in found]
            if missing:
                raise LibraryError(f"no pattern {missing[0]} in this library")
            for pid in ids:
                pattern = found[pid]
                manual = {t.name for t in pattern.tags if t.source == "manual"}
                if _apply(session, pattern, status, rating, (manual | add) - drop, only_named=add | drop, title=title):
                    changed.append(pid)
        return ChangeSet(changed=changed)

    def curation(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """How each pattern is curated: status, rating, its own tags and its automatic ones (name ->
        confidence). `set_curation` puts exactly this back: the window's undo."""
        ids = sorted({int(i) for i in ids})
        with Session(self.reader) as session:
            return {p.id: {"status": p.status, "rating": p.rating, "title": p.title,
                           "tags": sorted(t.name for t in p.tags if t.source == "manual"),
                           "auto": {t.name: t.confidence for t in p.tags if t.source == "auto"}}
                    for p in session.scalars(select(Pattern).where(Pattern.id.in_(ids))
                                             .options(selectinload(Pattern.tags)))}

    def set_curation(self, states: dict[int, dict[str, Any]]) -> ChangeSet:
        """Give each pattern exactly the status, rating and tags of `states` (from `curation`; the
        automatic tags too, when a state has them), in one transaction, each change in the audit
        log. Patterns gone since are passed over."""
        for state in states.values():
            if state["status"] not in STATUSES:
                raise LibraryError(f"status must be one of {', '.join(STATUSES)}, not '{state['status']}'")
        changed = []
        with Session(self.engine) as session, session.begin():
            for pattern in session.scalars(select(Pattern).where(Pattern.id.in_([int(i) for i in states]))
                                           .options(selectinload(Pattern.tags))):
                state = states.get(pattern.id) or states.get(str(pattern.id))
                if _apply(session, pattern, state["status"], int(state["rating"]),
                          {n.strip().lower() for n in state["tags"] if n.strip()}, auto=state.get("auto"),
                          title=state.get("title")):
                    changed.append(pattern.id)
        return ChangeSet(changed=changed)

    def set_auto_tags(self, pattern_id: int, tags: list[tuple[str, float]]) -> None:
        """Replace this pattern's automatic tags; tags a person set are never touched."""
        self.set_auto_tags_many({pattern_id: tags})

    def set_auto_tags_many(self, tags_by_id: dict[int, list[tuple[str, float]]], done: Iterable[int] = ()) -> None:
        """set_auto_tags for many patterns in one transaction (one commit, one fsync), as two set
        statements: delete their automatic tags, insert the new ones a person has not set. `done`:
        patterns whose embedding outbox rows end in the same transaction (the embedder's)."""
        from sqlalchemy import delete, insert

        done = list(done)
        if not tags_by_id and not done:
            return
        ids = list(tags_by_id)
        with self.engine.begin() as conn:
            if done:
                conn.execute(delete(EmbeddingOutbox).where(EmbeddingOutbox.pattern_id.in_(done)))
            existing = set(conn.execute(select(Pattern.id).where(Pattern.id.in_(ids))).scalars())
            manual = set(conn.execute(select(Tag.pattern_id, Tag.name)
                                      .where(Tag.pattern_id.in_(ids), Tag.source == "manual")).all())
            conn.execute(delete(Tag).where(Tag.pattern_id.in_(ids), Tag.source == "auto"))
            rows = [{"pattern_id": pid, "name": name, "source": "auto", "confidence": float(confidence)}
                    for pid, tags in tags_by_id.items() if pid in existing
                    for name, confidence in dict(tags).items() if (pid, name) not in manual]
            if rows:
                conn.execute(insert(Tag.__table__), rows)

    # -- reading ----------------------------------------------------------------------------------
    def list(self, status: str | None = None, tag: str | list[str] | None = None, min_rating: int = 0,
             limit: int | None = None, collection: str | None = None, trashed: bool = False,
             sort: str = "newest") -> list[dict[str, Any]]:
        """Patterns outside the trash, or (`trashed`) those in it, in the order `sort` names (one
        of SORTS; "newest" lists the trash most recently trashed first)."""
        if sort not in SORTS:
            raise LibraryError(f"sort must be one of {', '.join(SORTS)}, not '{sort}'")
        query = select(Pattern).options(selectinload(Pattern.tags))
        query = query.where(Pattern.trashed.is_not(None) if trashed else Pattern.trashed.is_(None))
        newest = [Pattern.trashed.desc()] if trashed else []
        query = query.order_by(*{
            "newest": [*newest, Pattern.id.desc()], "oldest": [Pattern.id],
            "rating": [Pattern.rating.desc(), Pattern.id.desc()],
            "title": [func.lower(Pattern.title), Pattern.id],
            "changed": [Pattern.updated.desc(), Pattern.id.desc()]}[sort])
        if collection:
            with Session(self.reader) as session:
                cid = session.scalar(select(Collection.id).where(Collection.name == collection))
            if cid is None:  # (as collections.member_ids refuses it)
                raise LibraryError(f"no collection called '{collection}'")
            query = query.where(Pattern.id.in_(select(CollectionMember.pattern_id)
                                               .where(CollectionMember.collection_id == cid)))
        if status:
            query = query.where(Pattern.status == status)
        if min_rating:
            query = query.where(Pattern.rating >= min_rating)
        for name in tag_list(tag):  # every tag asked for must be there
            query = query.where(Pattern.tags.any(Tag.name == name))
        if limit:
            query = query.limit(limit)
        with Session(self.reader) as session:
            return [_summary(p, self) for p in session.scalars(query)]

    def get(self, pattern_id: int) -> dict[str, Any]:
        with Session(self.reader) as session:
            pattern = session.get(Pattern, pattern_id, options=[selectinload(Pattern.tags),
                                                                 selectinload(Pattern.qa_reports),
                                                                 selectinload(Pattern.provenance)])
            if pattern is None:
                raise LibraryError(f"no pattern {pattern_id} in this library")
            out = _summary(pattern, self)
            out["provenance"] = provenance_view(pattern.provenance)
            out["qa"] = [{"passed": r.passed, "profile": r.profile, "created": r.created.isoformat(),
                          "failed": r.report.get("failed", [])} for r in pattern.qa_reports]
            out["history"] = [{"time": a.time.isoformat(), "action": a.action, "detail": a.detail}
                              for a in session.scalars(select(AuditLog).where(AuditLog.pattern_id == pattern_id)
                                                       .order_by(AuditLog.id))]
            return out

    def titles(self, ids: Iterable[int]) -> dict[int, str]:
        """id -> title, in one query (where `get`, which reads provenance, QA and history too, is
        more than a list of names needs)."""
        ids = sorted({int(i) for i in ids})
        out: dict[int, str] = {}
        with Session(self.reader) as session:
            for start in range(0, len(ids), 500):
                out.update(session.execute(select(Pattern.id, Pattern.title).where(
                    Pattern.id.in_(ids[start:start + 500]))).all())
        return out

    def lineage(self, pattern_id: int | None, parents: Iterable[int] = ()) -> set[int]:
        """The pattern's family: itself, its parents (its own, and `parents` for a tile not yet
        stored), its children, and its parents' other children (a colourway's siblings). One
        design by intent, so the near-duplicate check does not count them."""
        family = {int(p) for p in parents}
        with Session(self.reader) as session:
            if pattern_id is not None:
                family.add(int(pattern_id))
                own = session.scalar(select(Provenance.parents).where(Provenance.pattern_id == pattern_id))
                family |= {int(p) for p in own or [] if isinstance(p, int)}
            if family:
                marks = ", ".join(str(int(p)) for p in family)
                family |= set(session.scalars(text(  # SQLite's json_each: the rows naming any of them
                    f"SELECT DISTINCT provenance.pattern_id FROM provenance, json_each(provenance.parents) "
                    f"WHERE json_each.value IN ({marks})")))
        return family

    def thumbnail(self, item: dict[str, Any], side: int = 256) -> Path:
        """A cached PNG thumbnail (thumbs/<sha256>.png), made on first use."""
        from PIL import Image

        target = self.root / "thumbs" / f"{item['sha256']}-{side}.png"
        if not target.exists():
            import io

            with Image.open(item["file"]) as img:
                img.draft("RGB", (side, side))  # a JPEG scan decodes at 1/2, 1/4 or 1/8 of its size
                if img.mode in ("RGB", "RGBA", "L", "LA"):  # reduced first: no full-size RGB copy of a scan
                    img.thumbnail((side, side))
                    img = img.convert("RGB")
                else:  # (a palette or 16-bit image is converted first, so it is averaged, not sampled)
                    img = img.convert("RGB")
                    img.thumbnail((side, side))
                buf = io.BytesIO()
                img.save(buf, format="PNG")
            atomic_write_bytes(target, buf.getvalue())
        return target

    def browse(self, limit: int = 5000, **filters) -> list[dict[str, Any]]:
        """Patterns for a grid: the summary plus the Tessera metadata the Preview needs."""
        items = self.list(limit=limit, **filters)
        with Session(self.reader) as session:
            raws = dict(session.execute(select(Provenance.pattern_id, Provenance.raw).where(
                Provenance.pattern_id.in_([i["id"] for i in items]))).all())
        for item in items:
            meta = dict((raws.get(item["id"]) or {}).get("tessera") or {})
            meta.setdefault("repeat", item["repeat"])
            item["metadata"] = meta
        return items

    def count(self) -> int:
        with Session(self.reader) as session:
            return session.scalar(text("SELECT count(*) FROM pattern WHERE trashed IS NULL"))

    def check(self, repair: bool = False) -> dict[str, Any]:
        """Integrity: quick_check, every row has its file, and no file without its row; with
        `repair`, what a crash left is mended (desktop/library/integrity.py)."""
        from desktop.library import integrity

        return integrity.check(self, repair)


def _apply(session: Session, pattern: Pattern, status: str | None, rating: int | None, tags: set[str],
           only_named: set[str] | None = None, auto: dict[str, float] | None = None,
           title: str | None = None) -> bool:
    """Set a pattern's title, status and rating (None: leave it) and its own tags to `tags`, with the
    change in the audit log; whether anything changed. With `only_named`, only tags of those
    names are touched (an edit that adds and removes some; removing one takes an automatic tag
    too). With `auto` (name -> confidence), the automatic tags become exactly those (an undo).
    A tag the user sets that was automatic becomes theirs, in place."""
    detail: dict[str, Any] = {}
    if title is not None and title != pattern.title:
        detail["title"] = [pattern.title, title]
        pattern.title = title
    if status is not None and status != pattern.status:
        detail["status"] = [pattern.status, status]
        pattern.status = status
    if rating is not None and int(rating) != pattern.rating:
        detail["rating"] = [pattern.rating, int(rating)]
        pattern.rating = int(rating)
    have = {t.name: t for t in pattern.tags}
    names = set(have) | tags | set(auto or ()) if only_named is None else only_named
    for name in sorted(names):
        tag = have.get(name)
        if name in tags:
            if tag is None:
                pattern.tags.append(Tag(name=name, source="manual"))
            elif tag.source != "manual":
                tag.source, tag.confidence = "manual", 1.0
            else:
                continue
            detail.setdefault("tagged", []).append(name)
        elif auto is not None and name in auto:
            if tag is None:
                pattern.tags.append(Tag(name=name, source="auto", confidence=float(auto[name])))
            elif tag.source == "manual":
                tag.source, tag.confidence = "auto", float(auto[name])
                detail.setdefault("untagged", []).append(name)
        elif tag is not None and (tag.source == "manual" or only_named is not None or auto is not None):
            pattern.tags.remove(tag)
            detail.setdefault("untagged", []).append(name)
    if detail:
        pattern.updated = now()  # a change of tags only is a change too ("changed" sorts by it)
        session.add(AuditLog(action="update", pattern_id=pattern.id, detail=detail))
    return bool(detail)


def trashed_since(session: Session, ids: list[int]) -> dict[int, Any]:
    """id -> when it was trashed (None: not in the trash), for every one of `ids`; an unknown id
    is refused."""
    found = dict(session.execute(select(Pattern.id, Pattern.trashed).where(Pattern.id.in_(ids))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        raise LibraryError(f"no pattern {missing[0]} in this library")
    return found


def tag_list(tag: str | Iterable[str] | None) -> list[str]:
    """One tag, several (all must match), or none, as lower-case names."""
    if not tag:
        return []
    names = [tag] if isinstance(tag, str) else list(tag)
    return [n.strip().lower() for n in names if n and n.strip()]


def _configure_read_only(dbapi_connection, record) -> None:
    """A reader beside the window: WAL as the writer set it, and no write of any kind (query_only)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("busy_timeout=5000", "query_only=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class _CommitHooked(sqlite3.Connection):
    """A writer's connection that says when it has committed (the library watches for other
    processes' commits by telling its own apart)."""

    after_commit = None

    def commit(self) -> None:
        super().commit()
        if self.after_commit is not None:
            self.after_commit()


def _configure_connection(dbapi_connection, record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN IMMEDIATE itself
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _import_title(tessera: dict[str, Any], source: str) -> str:
    """A file Tessera made is titled as a tile is (titles.tile_title: its inks, motif, style and repeat),
    not by its file name; any other file by its name."""
    if tessera.get("title") or tessera.get("style") or tessera.get("prompt"):
        return tile_title(tessera)
    return Path(source).stem if source else ""


def _summary(pattern: Pattern, library: Library) -> dict[str, Any]:
    return {"id": pattern.id, "sha256": pattern.sha256, "file": str(library.file_path(pattern)),
            "size": [pattern.width, pattern.height], "repeat": pattern.repeat, "status": pattern.status,
            "rating": pattern.rating, "title": pattern.title, "tags": sorted(t.name for t in pattern.tags),
            "created": pattern.created.isoformat(), "updated": pattern.updated.isoformat(),
            "trashed": pattern.trashed.isoformat() if pattern.trashed else None}
