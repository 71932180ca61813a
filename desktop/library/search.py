"""Search, "more like this", near-duplicates, and keeping the vector index in step with SQLite.

SQLite stays the truth: the index is filled from the embedding outbox (written in the same
transaction as each pattern) and reconciled against SQLite's ids on demand. Every result
says which method found it: the built-in descriptor (always), or CLIP when its weights exist.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from desktop.library.alignment import SAME_DESIGN, layout, match, spectrum, turns
from desktop.library.catalogue import Library, LibraryError
from desktop.library.descriptor import MODEL, describe
from desktop.library.hashes import hash_similarity, query_hashes
from desktop.library.models import EmbeddingOutbox, Pattern

_INDEX_LOCK = threading.Lock()


def index(lib: Library):
    """The library's vector index, opened once: the first search (on one lane) and the first store
    (on another) may ask at the same moment, and must share one index and its caches."""
    found = getattr(lib, "_index", None)
    if found is None:
        with _INDEX_LOCK:
            found = getattr(lib, "_index", None)
            if found is None:
                from desktop.library.vector_index import VectorIndex

                found = lib._index = VectorIndex(lib.root / "index")
    return found


def warm_up(lib: Library) -> None:
    """Load what the first search or store needs (LanceDB and pyarrow build many Python objects as
    they import, holding the interpreter lock for a few hundred ms), and the colour-name table
    (made once per machine, 0.7 s): better while the library opens than under the user's first
    generate or import."""
    from desktop.library.tagging import _name_lut

    index(lib)
    _name_lut()


def set_embedder(lib: Library, embedder) -> None:
    """Use CLIP (a desktop.library.clip.ClipEmbedder) for text search and auto-tags from now on."""
    lib._clip = embedder


def embedder(lib: Library):
    return getattr(lib, "_clip", None)


def ensure_clip(lib: Library, data_dir=None, download: bool = False, progress=None, worker=None) -> str:
    """Attach CLIP when its weights are here, or (`download`, online) after fetching them first.

    Returns "" when CLIP is attached, else the plain reason it is not. `progress(done, total)`
    follows the download (see desktop.library.clip.download). With `worker` (a WorkerProcess),
    CLIP runs in it, not in this process.
    """
    if embedder(lib) is not None:
        return ""
    from desktop.library import clip

    found, why = clip.load_if_available(data_dir, worker)
    if found is None and download and clip.find_weights(clip.model_name(), data_dir) is None:
        try:
            clip.download(clip.model_name(), data_dir, progress)
        except clip.ClipDownloadError as exc:
            return f"{why}, and downloading them failed: {exc}"
        found, why = clip.load_if_available(data_dir, worker)
    if found is None:
        return why
    set_embedder(lib, found)
    queue_clip_backfill(lib)
    return ""


def queue_clip_backfill(lib: Library) -> int:
    """Queue every pattern that has no vector from the attached CLIP model (imported before its
    weights were here, or by another model) for the embedder; the next embed_pending makes them."""
    clip = embedder(lib)
    if clip is None:
        return 0
    with Session(lib.reader) as session:
        truth = set(session.scalars(select(Pattern.id).where(Pattern.trashed.is_(None))))  # the trash is not indexed
        queued = set(session.scalars(select(EmbeddingOutbox.pattern_id)))
    missing = sorted(truth - queued - index(lib).clip_ids(clip.model_id))
    if missing:
        with Session(lib.engine) as session, session.begin():
            session.add_all(EmbeddingOutbox(pattern_id=i) for i in missing)
    return len(missing)


def looks_of(smalls: np.ndarray) -> list[dict[str, Any]]:
    """Everything the index keeps about how each tile looks that needs no model: the built-in
    descriptor, the perceptual hashes and the colour-name tags, made for a whole stack of small
    copies (descriptor.small_copies) at once: one call per step for the stack, not one per
    tile, so that their fixed costs are paid once a batch (measured on 64 tiles: 0.4-0.5 ms a
    tile against 1.0 one at a time)."""
    from desktop.library.descriptor import COLOUR_SIDE, describe_many, shrink
    from desktop.library.hashes import library_hashes_many
    from desktop.library.tagging import colour_tags_many

    if not len(smalls):
        return []
    quarters = shrink(smalls, COLOUR_SIDE)
    return [{"vector": vector, "hashes": hashes, "colour_tags": colours} for vector, hashes, colours
            in zip(describe_many(smalls, quarters=quarters), library_hashes_many(smalls), colour_tags_many(quarters))]


def look_of(rgb) -> dict[str, Any]:
    """`looks_of` for one image of any size."""
    from desktop.library.descriptor import small_copies

    return looks_of(small_copies([rgb]))[0]


def import_into(lib: Library, paths, ctx=None, index_every: int = 4):
    """Import files and folders, each file's small copy made beside its decode, and index as it goes:
    after every `index_every` stored batches (LanceDB pays per call, and a fragment per add), and
    at the end. A cancelled import leaves what it committed queued in the outbox for the next
    embedder run (the window queues one behind every import; `library check`; the next start)."""
    stored = 0

    def after_batch() -> None:
        nonlocal stored
        stored += 1
        if stored % index_every == 0:
            embed_pending(lib)

    # the decode threads make each file's small copy; the looks are made from them a batch at a
    # time by the embedder; without CLIP the full pixels are let go as soon as the copy is made
    from desktop.library.descriptor import small_copy

    changes = lib.import_paths(paths, ctx, after_batch=after_batch, prepare=small_copy,
                               keep_pixels=embedder(lib) is not None)
    embed_pending(lib)
    return changes


def _embed_batch(lib: Library, ids: list[int]) -> None:
    """Descriptor, hashes, colour tags, and (with CLIP) CLIP vectors and vocabulary tags of these
    patterns, into the index; then their automatic tags and the end of their outbox rows, in one
    transaction (a crash before it only means doing them again)."""
    from desktop.engine.images import load_rgb
    from desktop.library.descriptor import small_copy
    from desktop.library.models import Tag
    from desktop.library.tagging import clip_tags

    with lib.reader.connect() as conn:
        facts = {row.id: row for row in conn.execute(select(Pattern.id, Pattern.file, Pattern.status, Pattern.rating)
                                                     .where(Pattern.id.in_(ids), Pattern.trashed.is_(None)))}
        manual: dict[int, set[str]] = {}
        for pid, name in conn.execute(select(Tag.pattern_id, Tag.name)
                                      .where(Tag.pattern_id.in_(ids), Tag.source == "manual")):
            manual.setdefault(pid, set()).add(name)
    clip = embedder(lib)
    loaded, smalls = [], []  # (id, full pixels or None), and each one's small copy
    for pid in ids:
        fresh = lib.take_fresh(pid)  # decoded when it was added, in this process
        if pid not in facts:  # deleted or put in the trash since it was queued
            continue
        pixels, small = fresh if fresh is not None else (None, None)
        if pixels is None and (small is None or clip is not None):  # CLIP needs the pixels: read back
            try:
                pixels = load_rgb(lib.files / facts[pid].file)
            except Exception:  # a missing or unreadable file is reported by `check`, not fatal here
                continue
        if small is None:
            small = small_copy(pixels)  # from every pixel, as an import makes it
        if clip is not None:  # what CLIP reads, and no more, is held for the batch (a scan is 600 MB)
            from desktop.library.clip import fit_for_clip

            pixels = fit_for_clip(pixels)
        loaded.append((pid, pixels if clip is not None else None))
        smalls.append(small)
    looks = dict(zip((pid for pid, _ in loaded), looks_of(np.stack(smalls)) if smalls else []))
    auto = {pid: list(looks[pid]["colour_tags"]) for pid, _ in loaded}
    clip_rows = []
    if clip is not None and loaded:
        vectors = clip.embed_images([rgb for _, rgb in loaded])
        for (pid, _), vector, tags in zip(loaded, vectors, clip_tags(clip, vectors)):
            auto[pid] = auto[pid] + tags
            clip_rows.append({"id": pid, "vector": vector, "model": clip.model_id})
    fields = {pid: {"status": facts[pid].status, "rating": facts[pid].rating,
                    "tags": sorted(manual.get(pid, set()) | {name for name, _ in auto[pid]})} for pid in auto}
    index(lib).upsert([{"id": pid, "vector": looks[pid]["vector"], "model": MODEL, "hashes": looks[pid]["hashes"],
                        **fields[pid]} for pid, _ in loaded])
    index(lib).clip_upsert([{**row, **fields[row["id"]]} for row in clip_rows])
    lib.set_auto_tags_many(auto, done=ids)


READ_CATCH_UP = 64  # patterns a search indexes from the outbox before it reads (one batch)


def embed_pending(lib: Library, batch: int = 64, ctx=None, limit: int | None = None,
                  ids=None, wait: bool = True) -> int:
    """Drain the embedding outbox in batches (at most `limit` patterns, when given: the window
    drains a long backlog in parts, so that other writes get their turn between them; only those
    of `ids` that are queued, when given: a write indexes what it wrote, not the backlog of a
    library whose index an older look made). Returns how many patterns were indexed.

    One drain at a time per library: a search on the I/O lane and a write on the writer lane
    both drain before they read, and two drains of the same queued ids would each embed them,
    one's add racing the other's (the index then held a pattern twice, or, for a moment, not at
    all). The second waits, then finds the outbox empty, or what came after; with wait=False it
    does not wait: it returns 0 at once (a search then reads the index as the drain leaves it).
    A library opened read-only (a script beside the window) drains nothing: the window does."""
    if getattr(lib, "read_only", False):
        return 0
    lock = _drain_lock(lib)
    if not lock.acquire(blocking=wait):
        return 0
    try:
        return _drain(lib, batch, ctx, limit, None if ids is None else sorted(set(ids)))
    finally:
        lock.release()


def catch_up(lib: Library) -> int:
    """What a search does before it reads: index a little of what waits (what was just written),
    never a whole backlog (the window drains that in parts, and a look-alike lookup must not take
    the minutes a large library's remake does), and never wait behind a drain at work."""
    return embed_pending(lib, limit=READ_CATCH_UP, wait=False)


def waiting(lib: Library) -> int:
    """How many patterns wait in the outbox to be indexed (a search does not find them yet)."""
    with lib.reader.connect() as conn:
        return conn.execute(select(func.count()).select_from(EmbeddingOutbox)
                            .join(Pattern, Pattern.id == EmbeddingOutbox.pattern_id)
                            .where(Pattern.trashed.is_(None))).scalar()


def _drain_lock(lib: Library) -> threading.RLock:
    found = getattr(lib, "_drain_lock", None)
    if found is None:
        with _INDEX_LOCK:
            found = getattr(lib, "_drain_lock", None)
            if found is None:
                found = lib._drain_lock = threading.RLock()
    return found


def _drain(lib: Library, batch: int, ctx, limit: int | None, only: list[int] | None) -> int:
    if only is None:
        with lib.reader.connect() as conn:
            total = conn.execute(select(func.count()).select_from(EmbeddingOutbox)).scalar()
    else:
        total = len(only)
    done, offset = 0, 0
    while limit is None or done < limit:
        size = batch if limit is None else min(batch, limit - done)
        query = select(EmbeddingOutbox.pattern_id)
        if only is None:
            query = query.limit(size)
        elif offset >= len(only):
            return done
        else:  # a batch of the ids at a time: a bounded IN list, however many were written
            query = query.where(EmbeddingOutbox.pattern_id.in_(only[offset:offset + size]))
            offset += size
        with lib.reader.connect() as conn:
            ids = list(conn.execute(query).scalars())
        if ids:
            _embed_batch(lib, ids)
            done += len(ids)
            if ctx is not None:
                ctx.progress(done, total, "Indexing")
        elif only is None:
            return done
    return done


def reconcile(lib: Library, build_index: bool = True, ctx=None, embed: bool = True) -> dict[str, list[int]]:
    """Make the index's ids equal SQLite's: drop extras, queue and embed the missing and those whose
    row an older version of the look made (the hashes or descriptor changed: a whole library is
    then remade, with `ctx`'s progress and cancel; what is left stays queued); then (unless
    told not to: the window builds it as a job of its own) build the ANN index if it is due."""
    with Session(lib.reader) as session:
        truth = set(session.scalars(select(Pattern.id).where(Pattern.trashed.is_(None))))  # the trash is not indexed
        queued = set(session.scalars(select(EmbeddingOutbox.pattern_id)))
    made_by = index(lib).models()
    indexed = set(made_by)
    current = {i for i, model in made_by.items() if model == MODEL}
    extra = sorted(indexed - truth)
    missing = sorted(truth - current - queued)  # never indexed, or indexed by an older look (then remade)
    index(lib).delete(extra)
    if missing:
        with Session(lib.engine) as session, session.begin():
            session.add_all(EmbeddingOutbox(pattern_id=i) for i in missing)
    queue_clip_backfill(lib)
    if embed:  # else the caller drains the outbox (the window: in parts, see embed_pending)
        embed_pending(lib, ctx=ctx)
    if build_index:
        index(lib).ensure_ann()
    return {"removed_from_index": extra, "queued": missing}


def refresh_fields(lib: Library, ids: list[int]) -> None:
    """Push status, rating and tags of these patterns into the index (after an update)."""
    if not ids:
        return
    with Session(lib.reader) as session:
        fields = {pattern.id: (pattern.status, pattern.rating, sorted(t.name for t in pattern.tags))
                  for pattern in session.scalars(select(Pattern).where(Pattern.id.in_(ids), Pattern.trashed.is_(None))
                                                 .options(selectinload(Pattern.tags)))}
    index(lib).update_fields_many(fields)


def _collection_filter(lib: Library, filters: dict[str, Any]) -> dict[str, Any]:
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    collection = filters.pop("collection", None)
    if collection:
        from desktop.library.collections import member_ids

        filters["ids"] = member_ids(lib, collection)
    return filters


def search_image(lib: Library, rgb: np.ndarray, limit: int = 10, **filters) -> list[dict[str, Any]]:
    filters = _collection_filter(lib, filters)
    catch_up(lib)
    hits = index(lib).search(describe(rgb), limit, **filters)
    query = query_hashes(rgb)
    for hit in hits:
        hit["hash_similarity"] = hash_similarity(query, hit.pop("hashes"))
        hit["method"] = "descriptor"
    return hits


def similar(lib: Library, pattern_id: int, limit: int = 10, **filters) -> list[dict[str, Any]]:
    from desktop.engine.images import load_rgb

    with Session(lib.reader) as session:
        pattern = session.get(Pattern, pattern_id)
        if pattern is None:
            raise LibraryError(f"no pattern {pattern_id} in this library")
        path = lib.file_path(pattern)
    return search_image(lib, load_rgb(path), limit, exclude=pattern_id, **filters)


def search_text(lib: Library, text: str, limit: int = 10, **filters) -> list[dict[str, Any]]:
    """Text search by meaning with CLIP; without its weights, say so plainly."""
    clip = embedder(lib)
    filters = _collection_filter(lib, filters)
    if clip is not None:
        catch_up(lib)
        hits = index(lib).clip_search(clip.embed_texts([text])[0], limit, **filters)
        for hit in hits:
            hit.pop("hashes", None)
            hit["method"] = "clip"
        return hits
    raise LibraryError(
        f"text search needs CLIP weights (open_clip ViT-B-32), and none are installed, so '{text}' cannot be "
        "matched by meaning. Search by image (--image FILE) uses the built-in descriptor, or filter by tag "
        "(--tag) and status")


@dataclass(frozen=True)
class Thresholds:
    hash: float = 0.9  # 1 - Hamming/64 of the best pHash pair
    descriptor: float = 0.985  # cosine similarity of the built-in descriptors
    texture: float = 0.9995  # the descriptor's texture part alone: recoloured copies keep it
    # a pair found is "recoloured" when the descriptor's colour parts agree less than this (lossy
    # re-saves and scaled copies of the shared tiles stay above 0.958; a hue turned by 12 of 180
    # falls under it for tiles that have colour to turn)
    colour: float = 0.95
    # the candidates the measures above put forward are one design only when their layouts line
    # up this well at the best shift, flip and turn (desktop.library.alignment)
    alignment: float = SAME_DESIGN


NEAREST = 8  # each pattern's nearest by descriptor that are candidates too (0: none)
NEAR_FLOOR = 0.9  # ... when they come this near
NEAR_TEXTURE_FLOOR = 0.99
BLOCK_SCORES = 20_000_000  # pair scores made at a time by `duplicates` (160 MB an array)


def duplicates(lib: Library, thresholds: Thresholds = Thresholds(), ctx=None) -> list[dict[str, Any]]:
    """Pairs that are the same design: shifted, flipped, turned, scaled or recoloured copies.

    The descriptor, the pHash and the texture part put candidates forward in one pass over the
    index, with each pattern's nearest (`duplicate_candidates`); each candidate is then kept only
    when the two layouts line up (`alignment`), which tells two grey gravels apart where their
    summaries cannot. With a job's
    `ctx`, the check reports its progress and stops when asked."""
    return _aligned(lib, duplicate_candidates(lib, thresholds), thresholds, ctx)


def duplicates_among(lib: Library, ids, thresholds: Thresholds = Thresholds(), ctx=None) -> list[dict[str, Any]]:
    """`duplicates`, among these patterns only (a training set, say)."""
    wanted = set(ids)
    if len(wanted) < 2:
        return []
    embed_pending(lib)
    rows = [row for row in index(lib).all_rows() if row["id"] in wanted]
    return _aligned(lib, candidates_of(rows, thresholds), thresholds, ctx)


def _aligned(lib: Library, pairs: list[dict[str, Any]], thresholds: Thresholds, ctx=None) -> list[dict[str, Any]]:
    """The candidate pairs whose layouts line up: one design."""
    layouts = design_layouts(lib, {p[k] for p in pairs for k in "ab"}, ctx)
    spectra = {pid: spectrum(found) for pid, found in layouts.items()}  # 17 kB a pattern
    kept, done = [], 0
    by_first: dict[int, list[dict[str, Any]]] = {}
    for pair in pairs:
        if pair["a"] in layouts and pair["b"] in layouts:  # a pattern whose file is gone: `check` says so
            by_first.setdefault(pair["a"], []).append(pair)
    for first, partners in by_first.items():  # each pattern's eight turns made once, for all its pairs
        if ctx is not None:
            ctx.progress(done, len(pairs), f"Comparing the layouts of {len(pairs)} candidate pair(s)")
        turned = turns(layouts[first])
        for pair in partners:
            pair["alignment"] = round(match(turned, spectra[pair["b"]], thresholds.alignment), 4)
            if pair["alignment"] >= thresholds.alignment:
                kept.append(pair)
        done += len(partners)
    return sorted(kept, key=lambda p: (-p["alignment"], -max(p["descriptor"], p["hash"]), p["a"], p["b"]))


def duplicate_candidates(lib: Library, thresholds: Thresholds = Thresholds()) -> list[dict[str, Any]]:
    """The pairs whose descriptors, pHashes or texture parts are as alike as `thresholds` asks,
    and each pattern with its NEAREST nearest by descriptor that come within NEAR_FLOOR of it (a
    copy the summaries miss, a crisp pixel pattern shifted by an odd step, is among a pattern's
    nearest far more often than above the bar; the layout check decides, and the number of
    such pairs grows with the library, not with its square): one matrix product a block of rows."""
    embed_pending(lib)
    return candidates_of(index(lib).all_rows(), thresholds)


def candidates_of(rows: list[dict[str, Any]], thresholds: Thresholds = Thresholds(),
                  nearest: int | None = None) -> list[dict[str, Any]]:
    """`duplicate_candidates` of index rows ({"id", "vector", "hashes"}); `nearest` for NEAREST."""
    nearest = NEAREST if nearest is None else nearest
    if len(rows) < 2:
        return []
    ids = np.array([r["id"] for r in rows])
    vectors = np.stack([r["vector"] for r in rows])
    texture = vectors[:, 48:] / np.maximum(np.linalg.norm(vectors[:, 48:], axis=1, keepdims=True), 1e-9)
    colour = vectors[:, :48] / np.maximum(np.linalg.norm(vectors[:, :48], axis=1, keepdims=True), 1e-9)
    # each tile's stored hashes (its canonical shift and the two half-step neighbours kept for
    # when its phase is weak), the best of the 3 x 3 pairs: measured on shifted copies of the 38
    # shared seamless tiles, 8 missed under 0.9 against 13 with the canonical hashes alone, and
    # no more pairs of different tiles reached it
    hashes = np.array([(r["hashes"] * 3)[:3] for r in rows], dtype=np.uint64)
    from desktop.library.hashes import popcount

    pairs, seen = [], set()
    step = max(1, min(512, BLOCK_SCORES // len(rows)))  # rows compared at a time
    near_k = min(nearest + 1, len(rows))  # a pattern is its own nearest
    for start in range(0, len(rows), step):
        block = vectors[start:start + step] @ vectors.T
        part = hashes[start:start + step]
        distance = np.min([popcount(part[:, i, None] ^ hashes[None, :, j]) for i in range(3) for j in range(3)], axis=0)
        h_sim = 1.0 - distance.astype(np.float64) / 64
        t_sim = texture[start:start + step] @ texture.T
        c_sim = colour[start:start + step] @ colour.T
        hit = (block >= thresholds.descriptor) | (h_sim >= thresholds.hash) | (t_sim >= thresholds.texture)
        if nearest:  # by the whole descriptor, and by its texture part (which a negative keeps)
            for scores, floor in ((block, NEAR_FLOOR), (t_sim, NEAR_TEXTURE_FLOOR)):
                kth = np.partition(scores, scores.shape[1] - near_k, axis=1)[:, scores.shape[1] - near_k]
                hit |= scores >= np.maximum(kth, floor)[:, None]  # values alone: 3x faster than argpartition
        for i, j in zip(*np.nonzero(hit)):
            first, second = sorted((start + int(i), int(j)))  # each pair once, never an item with itself
            if first == second or (first, second) in seen:
                continue
            seen.add((first, second))
            kind = "recoloured" if c_sim[i, j] < thresholds.colour else "copy"
            pairs.append({"a": int(ids[first]), "b": int(ids[second]), "descriptor": round(float(block[i, j]), 4),
                          "hash": round(float(h_sim[i, j]), 4), "texture": round(float(t_sim[i, j]), 5),
                          "colour": round(float(c_sim[i, j]), 4), "kind": kind, "method": "descriptor+phash"})
    return pairs


LAYOUT_THUMB = 128  # the grid's thumbnail side: a pattern browsed once has its layout's source already
LAYOUTS_KEPT = 2048  # layouts kept in memory, by file hash (16 kB each: 32 MB at most)
_LAYOUTS_LOCK = threading.Lock()


def _kept_layouts(lib: Library):
    from collections import OrderedDict

    with _LAYOUTS_LOCK:
        kept = getattr(lib, "_layouts", None)
        if kept is None:
            kept = lib._layouts = OrderedDict()
        return kept


def design_layouts(lib: Library, ids, ctx=None) -> dict[int, Any]:
    """id -> its layout (`alignment.layout`, 16 kB), made from its cached 128-px thumbnail, and
    kept in memory by its file's hash (the QA of each new tile asks for the same nearest
    patterns again and again); patterns whose file cannot be read are left out (and logged)."""
    import logging

    from PIL import Image

    kept = _kept_layouts(lib)
    out: dict[int, Any] = {}
    ids = sorted(ids)
    for start in range(0, len(ids), 500):
        if ctx is not None:
            ctx.progress(start, len(ids), f"Reading the layouts of {len(ids)} pattern(s)")
        with Session(lib.reader) as session:
            rows = session.execute(select(Pattern.id, Pattern.sha256, Pattern.file).where(
                Pattern.id.in_(ids[start:start + 500]))).all()
        for pid, digest, file in rows:
            with _LAYOUTS_LOCK:
                found = kept.get(digest, False)
                if found is not False:
                    kept.move_to_end(digest)
            if found is False:
                try:
                    with Image.open(lib.thumbnail({"sha256": digest, "file": lib.files / file},
                                                  side=LAYOUT_THUMB)) as img:
                        found = layout(np.asarray(img.convert("RGB")))
                except OSError as exc:
                    logging.getLogger(__name__).warning("could not read pattern %s to compare it: %s", pid, exc)
                    continue
                with _LAYOUTS_LOCK:
                    kept[digest] = found
                    while len(kept) > LAYOUTS_KEPT:
                        kept.popitem(last=False)
            out[pid] = found
    return out


class LibrarySimilarity:
    """The QA near-duplicate hook, answered by this library. The tile's family (the pattern
    `pattern_id` itself, its parents, children and siblings, or for a tile not yet stored the
    `parents` it was made from: `Library.lineage`) is one design by intent, and not counted."""

    def __init__(self, lib: Library, pattern_id: int | None = None, parents=()):
        self.lib, self.pattern_id, self.parents = lib, pattern_id, [int(p) for p in parents or ()]

    def nearest(self, image: np.ndarray, k: int = 5):
        """The library patterns nearest `image` by descriptor, scored by how well their layouts
        line up with it (`alignment`), best first. A grey gravel is then not "very like" a grey
        grass, nor one seed of a noise style like another; a recoloured or shifted copy, which
        the descriptor alone may rank low, is. Twice k candidates are looked at."""
        from desktop.engine.qa import SimilarItem

        family = self.lib.lineage(self.pattern_id, self.parents)
        hits = [h for h in search_image(self.lib, image, 2 * k + len(family)) if h["id"] not in family]
        if not hits:
            return []
        layouts = design_layouts(self.lib, [h["id"] for h in hits])
        titles = self.lib.titles(layouts)
        query = turns(layout(image))
        items = [SimilarItem(str(pid), round(match(query, spectrum(found), SAME_DESIGN), 4), titles.get(pid, ""),
                             "descriptor+layout") for pid, found in layouts.items()]
        return sorted(items, key=lambda item: -item.score)[:k]


def open_library(root: str | Path) -> Library:
    return Library(root)
