"""Publishing approved patterns to the marketplace through an outbox that survives working offline.

Queueing writes a `publication` row (state queued) for each approved pattern: offline or not,
nothing is lost, and a queued pattern is sent by the next sync, from the window or the command
line. A sync sends the queue oldest first. Each answer is written at once, in one transaction
with the pattern's status: published (with the listing's id and address, and the audit log), or
failed (with the marketplace's reason, and the pattern stays approved). A dead network or a busy
marketplace ends the sync and leaves the rest queued; a refused token ends it too. Publishing
the same file twice is one listing (the idempotency key is its sha256).

A listing says how large the tile prints (its PNG's dpi, else the studio's default) and, when
asked, carries product mockups rendered at that size (desktop.engine.mockups: the wall, the
swatch with its rulers ...), so a buyer sees the scale of the repeat before she buys it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.engine.mockups import CM_PER_INCH
from desktop.errors import UserError
from desktop.library import credentials, disclosure
from desktop.library.catalogue import Library, LibraryError
from desktop.library.listings import print_dpi
from desktop.library.marketplace import Marketplace, NotAllowed, Offline, Refused
from desktop.library.models import AuditLog, Pattern, Publication, now
from desktop.library.titles import pattern_stem

log = logging.getLogger(__name__)
MOCKUP_QUALITY = 88  # JPEG quality of a listing's mockups


def queue(lib: Library, ids: list[int], profile: str = "generic") -> dict[str, list[dict[str, Any]]]:
    """Queue these patterns; only approved ones go (a failed one may be queued again), and only with a
    listing within the marketplace profile's limits (desktop/library/listings.py).

    Returns {"queued": [{id}], "skipped": [{id, reason}]}."""
    from desktop.library import listings

    chosen = listings.load_profile(profile)
    ids = list(dict.fromkeys(int(i) for i in ids))
    broken = {}
    for pattern_id in ids:  # read before the transaction: a listing is drafted from the pattern's file too
        try:
            found = listings.current(lib, pattern_id, chosen).problems
        except LibraryError:
            continue  # not there: said below
        if found:
            broken[pattern_id] = (f"its listing breaks {chosen.label}'s limits: {'; '.join(found)} (mend it with "
                                  f"'tessera publish listing {pattern_id} --set …')")
    queued, skipped = [], []
    with Session(lib.engine) as session, session.begin():
        for pattern_id in ids:
            pattern = session.get(Pattern, pattern_id)
            if pattern is None:
                skipped.append({"id": pattern_id, "reason": "no such pattern"})
                continue
            if pattern_id in broken and pattern.status == "approved":
                skipped.append({"id": pattern_id, "reason": broken[pattern_id]})
                continue
            if pattern.trashed is not None:
                skipped.append({"id": pattern_id, "reason": "it is in the trash: restore it first"})
                continue
            row = session.get(Publication, pattern_id)
            if pattern.status == "published" or (row is not None and row.state == "published"):
                skipped.append({"id": pattern_id, "reason": "already published"})
                continue
            if pattern.status != "approved":
                skipped.append({"id": pattern_id, "reason": f"it is {pattern.status}: approve it first"})
                continue
            if row is not None and row.state == "queued":
                skipped.append({"id": pattern_id, "reason": "already queued"})
                continue
            if row is None:
                row = Publication(pattern_id=pattern_id)
                session.add(row)
            row.state, row.error, row.sha256, row.queued = "queued", "", pattern.sha256, now()
            session.add(AuditLog(action="publish-queued", pattern_id=pattern_id, detail={}))
            queued.append({"id": pattern_id})
    return {"queued": queued, "skipped": skipped}


def outbox(lib: Library, state: str | None = None, pattern_id: int | None = None) -> list[dict[str, Any]]:
    """Every publication row (or those in `state`, or this pattern's), oldest first."""
    query = select(Publication).order_by(Publication.queued, Publication.pattern_id)
    if state:
        query = query.where(Publication.state == state)
    if pattern_id is not None:
        query = query.where(Publication.pattern_id == pattern_id)
    with Session(lib.reader) as session:
        return [{"id": r.pattern_id, "state": r.state, "listing_id": r.listing_id, "url": r.url, "error": r.error,
                 "attempts": r.attempts, "queued": r.queued.isoformat(), "updated": r.updated.isoformat()}
                for r in session.scalars(query)]


def publication_of(lib: Library, pattern_id: int) -> dict[str, Any] | None:
    """This pattern's row in the outbox (queued, published with its listing, or failed with why)."""
    rows = outbox(lib, pattern_id=pattern_id)
    return rows[0] if rows else None


def metadata_for(item: dict[str, Any], dpi: float = 150, made: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the marketplace is told of a pattern (Library.get's view of it): its title, tags, repeat,
    size, palette, provenance, how large one tile prints at `dpi`, and how it was made (`made`:
    desktop.library.disclosure.for_pattern; from its own provenance alone when not given)."""
    prov = item.get("provenance") or {}
    made = made or disclosure.describe(disclosure.source_type(prov))
    palette = prov.get("palette") or {}
    width, height = item["size"]
    return {"title": item["title"] or f"pattern {item['id']}", "tags": item["tags"], "repeat": item["repeat"],
            "width": width, "height": height, "sha256": item["sha256"],
            "palette": palette.get("colors", []), "rating": item["rating"],
            "print": {"dpi": round(float(dpi), 2), "tile_in": [round(width / dpi, 3), round(height / dpi, 3)],
                      "tile_cm": [round(width / dpi * CM_PER_INCH, 2), round(height / dpi * CM_PER_INCH, 2)]},
            "provenance": {k: prov.get(k) for k in ("engine", "model", "model_hash", "style", "seed", "prompt")
                           if prov.get(k) not in (None, "")},
            "disclosure": {"digital_source_type": made["uri"], "text": made["label"],
                           "generative_ai": made["generative_ai"]}}


def listing_mockups(item: dict[str, Any], dpi: float, products: Sequence[str], check_cancelled=None
                    ) -> tuple[dict[str, tuple[str, bytes, str]], list[dict[str, Any]]]:
    """The pattern (Library.get's view of it) on each of `products`, one tile printing at `dpi`:
    the multipart files (mockup_<product> -> (name, JPEG bytes, type)) and what each shows
    (Mockup.as_dict, with its field). A product that cannot be shown is left out, with a warning in the log: the listing
    goes without it. `check_cancelled()` is called between renders and their stages (and raises to stop)."""
    import io

    from PIL import Image

    from desktop.engine import mockups
    from desktop.engine.images import load_rgb

    files: dict[str, tuple[str, bytes, str]] = {}
    shown: list[dict[str, Any]] = []
    wanted = list(dict.fromkeys(p for p in products if isinstance(p, str) and p in mockups.PRODUCTS))
    if not wanted:
        return files, shown
    path, stem = Path(item["file"]), pattern_stem(item["id"], item["title"])
    rgb = load_rgb(path)
    tile_in = (rgb.shape[1] / dpi, rgb.shape[0] / dpi)
    for product in wanted:
        try:
            made = mockups.render(rgb, item["repeat"], product, tile_in, check_cancelled=check_cancelled)
        except UserError as exc:
            log.warning("no %s mockup for %s: %s", product, stem, exc)
            continue
        buffer = io.BytesIO()
        Image.fromarray(made.image).save(buffer, format="JPEG", quality=MOCKUP_QUALITY, optimize=True)
        field = f"mockup_{product}"
        files[field] = (f"{stem}-{product}.jpg", buffer.getvalue(), "image/jpeg")
        shown.append({"field": field, **made.as_dict()})
    return files, shown


def _record(lib: Library, pattern_id: int, **changes: Any) -> None:
    with Session(lib.engine) as session, session.begin():
        row = session.get(Publication, pattern_id)
        if row is None:
            return
        for key, value in changes.items():
            setattr(row, key, value)
        row.attempts += 1
        if changes.get("state") == "published":
            pattern = session.get(Pattern, pattern_id)
            before = pattern.status if pattern is not None else None
            if pattern is not None:
                pattern.status = "published"
            session.add(AuditLog(action="published", pattern_id=pattern_id,
                                 detail={"status": [before, "published"], "listing": changes.get("listing_id"),
                                         "url": changes.get("url")}))
        elif changes.get("state") == "failed":
            session.add(AuditLog(action="publish-failed", pattern_id=pattern_id, detail={"error": changes["error"]}))


def sync(lib: Library, market: Marketplace, ctx=None, mockups: Sequence[str] = (),
         default_dpi: float = 150, profile: str = "generic") -> dict[str, Any]:
    """Send the queue, each listing with its print size (at its PNG's dpi, else `default_dpi`) and
    a mockup on each of `mockups` (product names: desktop.engine.mockups.PRODUCTS). Returns
    {"published": [...], "failed": [...], "waiting": n, "still_queued": [ids], "stopped": reason|""}.

    The next listing's file is read and its mockups rendered on a thread while this one uploads,
    so a batch takes about the longer of the two rather than their sum. Whether a pattern goes is
    decided from the catalogue at its turn, never from what was read ahead."""
    import threading
    from concurrent.futures import Future, ThreadPoolExecutor

    from desktop.library import listings

    chosen = listings.load_profile(profile)
    pending = outbox(lib, "queued")
    published, failed, stopped = [], [], ""
    ending = threading.Event()  # the sync is over: a render read ahead stops between its stages

    def check() -> None:
        if ending.is_set():
            raise _Abandoned()
        if ctx is not None:
            ctx.check_cancelled()

    def current(k: int) -> dict[str, Any] | None:
        try:
            return lib.get(pending[k]["id"])
        except LibraryError:
            return None  # deleted since: its row went with it

    def going(item: dict[str, Any] | None) -> bool:
        return item is not None and not item["trashed"] and item["status"] == "approved"

    ahead: dict[int, Future] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tessera-listing") as pool:
        def read_ahead(k: int, item: dict[str, Any] | None) -> None:
            if k not in ahead and going(item):
                ahead[k] = pool.submit(_prepare, item, mockups, default_dpi, check)

        try:
            for k, row in enumerate(pending):
                if ctx is not None:
                    ctx.check_cancelled()
                    ctx.progress(k, len(pending), f"publishing {k + 1} of {len(pending)}")
                pattern_id, item = row["id"], current(k)
                if k in ahead and not going(item):
                    ahead.pop(k).cancel()  # read ahead, and no longer going
                if item is None:
                    continue
                if item["trashed"]:  # put aside since it was queued: it waits, and goes if it is restored
                    continue
                if item["status"] != "approved":  # rejected (or drafted) again since it was queued
                    _record(lib, pattern_id, state="failed", error=f"it was {item['status']} when its turn came")
                    failed.append({"id": pattern_id, "error": f"it was {item['status']} when its turn came"})
                    continue
                read_ahead(k, item)  # (done already, unless it was not going when the last one went)
                if k + 1 < len(pending):
                    read_ahead(k + 1, current(k + 1))  # made while this one uploads
                if mockups and ctx is not None and not ahead[k].done():
                    ctx.progress(k, len(pending), f"mockups of {k + 1} of {len(pending)}")
                try:
                    data, dpi, files, shown = ahead.pop(k).result()
                except OSError as exc:
                    _record(lib, pattern_id, state="failed", error=f"its file cannot be read ({exc.strerror or exc})")
                    failed.append({"id": pattern_id, "error": "its file cannot be read"})
                    continue
                kind = Path(item["file"]).suffix.lstrip(".").lower()
                if kind in credentials.MIME:  # the listing image carries the studio's content credentials
                    try:
                        data = credentials.sign(data, kind, credentials.manifest_for(lib, item),
                                                credentials.ingredients_for(lib, item))
                    except credentials.UnsignableAsset as exc:  # the marketplace judges the file as it is
                        log.warning("pattern %s goes without content credentials: %s", pattern_id, exc)
                    except credentials.CredentialsError as exc:  # the studio's key: every listing would fail
                        _record(lib, pattern_id, state="failed", error=str(exc))
                        failed.append({"id": pattern_id, "error": str(exc)})
                        continue
                metadata = metadata_for(item, dpi, disclosure.for_pattern(lib, item))
                listing = listings.current(lib, pattern_id, chosen)  # as a person reviewed it, else drafted
                metadata.update(title=listing.title, tags=listing.tags, description=listing.description,
                                listing_profile=chosen.name, listing_reviewed=listing.reviewed)
                if shown is not None:
                    metadata["mockups"] = shown
                try:
                    listing = market.publish(data, Path(item["file"]).name, metadata, key=f"tessera-{item['sha256']}",
                                             files=files)
                except Refused as exc:
                    _record(lib, pattern_id, state="failed", error=str(exc))
                    failed.append({"id": pattern_id, "error": str(exc)})
                    continue
                except (Offline, NotAllowed) as exc:
                    stopped = str(exc)
                    break
                _record(lib, pattern_id, state="published", listing_id=listing["id"], url=listing["url"], error="")
                published.append({"id": pattern_id, "listing_id": listing["id"], "url": listing["url"]})
        finally:
            ending.set()
            for future in ahead.values():
                future.cancel()
    queued = [row["id"] for row in outbox(lib, "queued")]
    if ctx is not None:
        ctx.progress(len(pending), len(pending), f"published {len(published)}, {len(queued)} waiting")
    return {"published": published, "failed": failed, "waiting": len(queued), "still_queued": queued,
            "stopped": stopped}


class _Abandoned(Exception):
    """A listing read ahead that the sync no longer needs (it stopped, or ended)."""


def _prepare(item: dict[str, Any], mockups: Sequence[str], default_dpi: float, check
             ) -> tuple[bytes, float, dict[str, tuple[str, bytes, str]], list[dict[str, Any]] | None]:
    """What a listing sends that takes time to make, from the pattern's (immutable) stored file:
    its bytes (OSError when they cannot be read), its dpi, and its mockup parts and their
    description (None without mockups; an empty list when the file does not decode)."""
    data = Path(item["file"]).read_bytes()
    dpi = print_dpi(item["file"], default_dpi)
    files: dict[str, tuple[str, bytes, str]] = {}
    shown = None
    if mockups:
        try:
            files, shown = listing_mockups(item, dpi, mockups, check)
        except (OSError, ValueError, UserError) as exc:  # an undecodable file: the marketplace decides
            log.warning("no mockups for pattern %s: %s", item["id"], exc)
    return data, dpi, files, shown
