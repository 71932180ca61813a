"""`tessera library …`: import, list, show, set, trash, restore, empty-trash, search, similar, dupes,
export, sheet, check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from desktop.cli.common import library_root
from desktop.errors import UserError
from desktop.library import SORTS
from desktop.library.alignment import SAME_DESIGN


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from desktop.engine.mockups import PRODUCTS as MOCKUP_PRODUCTS

    lib = sub.add_parser("library", parents=[common], help="the pattern library (SQLite + vector index)")
    cmds = lib.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    imp = cmds.add_parser("import", parents=[common], help="import files and folders (recursively)",
                          description="Import image files and folders (recursively). Exit 0 when anything was "
                          "stored or was in the library already, 1 when every file was refused (quarantined or "
                          "not an image), 2 on bad input (a path that is not there, a locked library).")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    ls = cmds.add_parser("list", parents=[common], help="list patterns, newest first")
    ls.add_argument("--status")
    ls.add_argument("--tag")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--collection")
    ls.add_argument("--trashed", action="store_true", help="list the trash instead")
    ls.add_argument("--sort", choices=SORTS, default="newest",
                    help="newest (the default), oldest, rating (highest first), title, changed (latest first)")
    show = cmds.add_parser("show", parents=[common], help="everything about one pattern, with its provenance")
    show.add_argument("id", type=int)
    st = cmds.add_parser("set", parents=[common], help="status, rating and tags, of one pattern or several at once")
    st.add_argument("ids", nargs="+", type=int, metavar="ID")
    st.add_argument("--status", choices=("draft", "approved", "rejected", "published"))
    st.add_argument("--rating", type=int)
    st.add_argument("--tag", action="append", default=[], help="add a tag (repeatable)")
    st.add_argument("--untag", action="append", default=[], help="remove a tag (repeatable)")
    st.add_argument("--title", help="the pattern's title (its marketplace listing's name); one pattern at a time")
    tr = cmds.add_parser("trash", parents=[common], help="move patterns to the trash (restore brings them back)")
    tr.add_argument("ids", nargs="+", type=int)
    re_ = cmds.add_parser("restore", parents=[common], help="bring patterns back from the trash")
    re_.add_argument("ids", nargs="+", type=int)
    em = cmds.add_parser("empty-trash", parents=[common], help="delete patterns in the trash for good, files too")
    em.add_argument("ids", nargs="*", type=int, help="only these (default: the whole trash)")
    em.add_argument("--older-than", type=float, metavar="DAYS", help="only those trashed more than DAYS ago")
    em.add_argument("--yes", action="store_true", help="really delete (without it, says what would go)")
    se = cmds.add_parser("search", parents=[common], help="search by text (needs CLIP) or by image")
    se.add_argument("text", nargs="?")
    se.add_argument("--image", metavar="FILE")
    se.add_argument("--limit", type=int, default=10)
    se.add_argument("--status")
    se.add_argument("--tag")
    se.add_argument("--min-rating", type=int, default=0)
    se.add_argument("--collection")
    se.add_argument("--no-download", action="store_true",
                    help="never fetch the CLIP weights for text search (they download on first use when online)")
    co = cmds.add_parser("collection", parents=[common], help="collections: saved briefs and their patterns")
    co.add_argument("collection_action", choices=("list", "create", "add", "remove", "rename", "delete"),
                    help="list; create NAME; add NAME IDS; remove NAME IDS; rename NAME --to NEW; "
                         "delete NAME (its patterns stay in the library)")
    co.add_argument("name", nargs="?")
    co.add_argument("ids", nargs="*", type=int)
    co.add_argument("--palette", help="the brief's palette (name or \"#hex,#hex\")")
    co.add_argument("--repeat", default="basic")
    co.add_argument("--prompt", default="", help="prompt template")
    co.add_argument("--qa-profile", default="default")
    co.add_argument("--to", metavar="NEW", help="the new name, for rename")
    si = cmds.add_parser("similar", parents=[common], help="more like this pattern")
    si.add_argument("id", type=int)
    si.add_argument("--limit", type=int, default=10)
    du = cmds.add_parser("dupes", parents=[common], help="duplicates and derivatives, with their scores")
    du.add_argument("--threshold", type=float, default=0.985, help="descriptor similarity (default 0.985)")
    du.add_argument("--hash-threshold", type=float, default=0.9, help="pHash similarity (default 0.9)")
    du.add_argument("--texture-threshold", type=float, default=0.9995,
                    help="texture-only similarity, for recoloured copies (default 0.9995)")
    du.add_argument("--colour-threshold", type=float, default=0.95,
                    help="colour similarity under which a pair found is called recoloured (default 0.95)")
    du.add_argument("--layout-threshold", type=float, default=SAME_DESIGN,
                    help="how well two layouts must line up, at the best shift, flip and turn, for a pair the "
                         f"other measures find to be one design (default {SAME_DESIGN})")
    du.add_argument("--trash-copies", action="store_true",
                    help="of each design found copied, keep one (published, approved or the highest rated, else "
                         "the oldest) and move the others to the trash (recoloured pairs stay)")
    ex = cmds.add_parser("export", parents=[common], help="print-ready files")
    ex.add_argument("ids", nargs="*", type=int, help="the patterns (or choose them with the options below)")
    _selection_options(ex)
    ex.add_argument("--out", required=True)
    ex.add_argument("--dpi", type=int, default=150)
    ex.add_argument("--format", choices=("png", "tiff"), default="png")
    ex.add_argument("--as-basic", action="store_true", help="convert offset and mirror repeats to basic")
    ex.add_argument("--swatch", action="store_true", help="also write a 3x3 swatch preview")
    sh = cmds.add_parser("sheet", parents=[common], help="a presentation sheet: each pattern as a 2x2 repeat "
                         "over its palette's swatches and title")
    sh.add_argument("ids", nargs="*", type=int, help="the patterns (or choose them with the options below)")
    _selection_options(sh)
    sh.add_argument("--out", required=True, metavar="PNG")
    sh.add_argument("--cell", type=int, default=320, help="each pattern's square, in px (default 320)")
    sh.add_argument("--columns", type=int, default=4, help="patterns a row (default 4)")
    sh.add_argument("--mockup", choices=list(MOCKUP_PRODUCTS), metavar="PRODUCT",
                    help="also show each pattern at its printed size on a product: "
                         f"{', '.join(MOCKUP_PRODUCTS)} (its PNG's DPI, else --default-dpi)")
    sh.add_argument("--default-dpi", type=float, default=150, help="the DPI of a tile whose PNG names none (default 150)")
    mk = cmds.add_parser("mockup", aliases=["mockups"], parents=[common],
                         help="patterns at their printed size on a wall, fabric, a cushion or a swatch")
    mk.add_argument("ids", nargs="*", type=int, help="the patterns (or choose them with the options below)")
    _selection_options(mk)
    from desktop.cli.mockup import product_options

    product_options(mk)
    cl = cmds.add_parser("clip-download", parents=[common],
                         help="download the CLIP weights (ViT-B-32, OpenAI) into the models folder now")
    cl.add_argument("--model", default="ViT-B-32")
    ck = cmds.add_parser("check", parents=[common], help="integrity check and index reconcile",
                         description="Check the library: SQLite's quick_check, every pattern's file, no file without "
                         "its pattern, every stored PNG still openable (its text chunks within the limits); "
                         "half-written files are removed and stray ones registered again. Exit 0 when all is well, "
                         "1 when a problem remains (listed), 2 on bad input (a damaged database: --restore puts "
                         "the latest backup back, --rebuild makes the catalogue again from the files).")
    ck.add_argument("--restore", action="store_true", help="restore the latest backup over a damaged database")
    ck.add_argument("--rebuild", action="store_true",
                    help="no backup to restore: make the catalogue again from the stored files and their PNG "
                         "chunks (provenance, repeat, palette); tags, collections, statuses, ratings and the "
                         "history are not in the files and are lost (the damaged database is kept aside)")


def add_model_parsers(sub, common: argparse.ArgumentParser) -> None:
    models = sub.add_parser("models", parents=[common], help="diffusion models: add, list, rename, remove")
    cmds = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    add = cmds.add_parser("add", parents=[common], help="a diffusers folder, a .safetensors file, or owner/name")
    add.add_argument("location")
    add.add_argument("--name", help="what to call it (default: the file or folder name; adding a location "
                     "again refreshes its entry)")
    add.add_argument("--trust-pickle", action="store_true", help="allow a .ckpt/.pt/.bin you trust (tensors only)")
    cmds.add_parser("list", parents=[common], help="registered models with their family and sha256")
    rm = cmds.add_parser("remove", parents=[common], help="forget a model (its files stay)")
    rm.add_argument("name")
    rn = cmds.add_parser("rename", parents=[common], help="give a model another name")
    rn.add_argument("name")
    rn.add_argument("new_name")


def cmd_models(args: argparse.Namespace, emit) -> int:
    import dataclasses

    from desktop.config import resolve_paths
    from desktop.engine.diffusion.registry import ModelRegistry

    registry = ModelRegistry(resolve_paths().config_dir / "models.json")
    if args.models_command == "add":
        hashing = _download_progress(args, f"Hashing {Path(args.location).name}") if sys.stderr.isatty() else None
        entry = registry.add(args.location, args.name, args.trust_pickle, progress=hashing)
        emit(dataclasses.asdict(entry), f"added {entry.name} ({entry.family}, {entry.kind}, sha256 {entry.sha256[:12]})")
    elif args.models_command == "remove":
        registry.remove(args.name)
        emit({"removed": args.name}, f"removed {args.name} (its files are left where they are)")
    elif args.models_command == "rename":
        entry = registry.rename(args.name, args.new_name)
        emit(dataclasses.asdict(entry), f"renamed {args.name} to {entry.name}")
    else:
        from desktop.engine.diffusion.registry import available

        entries = registry.entries()
        emit({"models": [{**dataclasses.asdict(e), "available": available(e)} for e in entries]},
             "\n".join(f"{e.name:24s} {e.family:7s} {e.kind:16s} {e.sha256[:12]}  {e.location}"
                       + ("" if available(e) else "  (missing: add it again from where it now is)") for e in entries)
             or "no models yet: add one with 'tessera models add PATH'")
    return 0


def cmd_library(args: argparse.Namespace, emit) -> int:
    from desktop.config import resolve_paths
    from desktop.library import restore_latest_backup
    from desktop.library import search as finder

    root = library_root(args)
    action = args.library_command
    if action == "clip-download":
        from desktop.library.clip import ClipDownloadError, download

        try:
            path = download(args.model, resolve_paths().data_dir, _download_progress(args))
        except ClipDownloadError as exc:  # offline, refused, cut short or not saved: one line
            raise UserError(f"could not download CLIP {args.model}: {exc}") from None
        emit({"weights": str(path)}, f"CLIP weights ready: {path}")
        return 0
    clip_note = ""
    if action == "check" and getattr(args, "rebuild", False):
        from desktop.library.recovery import rebuild_catalogue

        rebuilt = rebuild_catalogue(root)
        emit(rebuilt, f"rebuilt the catalogue: {rebuilt['patterns']} pattern(s) from the stored files"
             + (f"; the damaged database is kept as {rebuilt['kept_aside']}" if rebuilt["kept_aside"] else "")
             + f"\n  not in the files, so lost: {', '.join(rebuilt['lost'])}")
    if action == "check" and args.restore:
        restored = restore_latest_backup(root)
        emit({"restored_from": str(restored)}, f"restored {root / 'library.db'} from {restored}")
    with _open(root, action) as lib:
        if action in ("import", "search", "check") and not lib.read_only:
            clip_note = _attach_clip(lib)
        if action == "import":
            missing = [p for p in args.paths if not Path(p).exists()]
            if missing:
                raise UserError(f"no such file or folder: {missing[0]}")
            changes = finder.import_into(lib, args.paths)
            emit(changes.as_dict(), changes.import_summary()
                 + "".join(f"\n  quarantined {q['source']}: {q['reason']}" for q in changes.quarantined))
            refused = changes.quarantined or changes.ignored
            stored = changes.added or changes.restored or changes.skipped
            return 1 if refused and not stored else 0  # a run that did nothing because all was refused
        if action == "list":
            items = lib.list(status=args.status, tag=args.tag, limit=args.limit, collection=args.collection,
                             trashed=args.trashed, sort=args.sort)
            emit({"patterns": items}, "\n".join(_line(p) for p in items)
                 or ("the trash is empty" if args.trashed else "no patterns"))
            return 0
        if action in ("trash", "restore", "empty-trash"):
            return _trash(lib, args, emit)
        if action == "show":
            from desktop.library.publishing import publication_of

            item = lib.get(args.id)
            item["publication"] = publication_of(lib, args.id)  # on the marketplace, queued, or refused
            emit(item, "\n".join(f"{k}: {v}" for k, v in item.items()))
            return 0
        if action == "set":
            if args.title is not None and len(set(args.ids)) > 1:
                raise UserError("--title names one pattern: give one ID")
            from desktop.library import ops

            changes = ops.curate(lib, args.ids, status=args.status, rating=args.rating, add_tags=args.tag,
                                 remove_tags=args.untag, title=args.title)  # all, or on an unknown id none
            items = [lib.get(i) for i in dict.fromkeys(args.ids)]
            emit({"changed": changes.changed, "patterns": items, **({"pattern": items[0]} if len(items) == 1 else {})},
                 "\n".join(_line(p) for p in items))
            return 0
        if action == "search":
            finder.embed_pending(lib)  # a search reads only a little of the outbox: the CLI's reads are complete
            filters = {"status": args.status, "tag": args.tag, "min_rating": args.min_rating,
                       "collection": args.collection}
            if args.image:
                from desktop.engine.images import load_rgb

                hits = finder.search_image(lib, load_rgb(args.image), args.limit, **filters)
            elif args.text:
                if clip_note and not args.no_download:  # first use: fetch the weights, when online
                    clip_note = finder.ensure_clip(lib, resolve_paths().data_dir, download=True,
                                                   progress=_download_progress(args))
                try:
                    hits = finder.search_text(lib, args.text, args.limit, **filters)
                except UserError as exc:
                    raise UserError(f"{exc} ({clip_note})" if clip_note else str(exc)) from None
            else:
                raise UserError("give search TEXT or --image FILE")
            return _emit_hits(lib, hits, emit, clip_note)
        if action == "collection":
            return _collection(lib, args, emit)
        if action == "similar":
            finder.embed_pending(lib)
            return _emit_hits(lib, finder.similar(lib, args.id, args.limit), emit)
        if action == "dupes":
            thresholds = finder.Thresholds(hash=args.hash_threshold, descriptor=args.threshold,
                                           texture=args.texture_threshold, colour=args.colour_threshold,
                                           alignment=args.layout_threshold)
            pairs = finder.duplicates(lib, thresholds)
            titles = {} if getattr(args, "json", False) else lib.titles(p[k] for p in pairs for k in "ab")
            put_aside, payload = "", {"pairs": pairs, "thresholds": thresholds.__dict__}
            if args.trash_copies:
                from desktop.library import ops
                from desktop.library.dedupe import redundant_copies

                choice = redundant_copies(lib, pairs)
                moved = ops.trash(lib, choice["trash"]).trashed
                put_aside = (f"\nmoved {len(moved)} extra cop{'y' if len(moved) == 1 else 'ies'} to the trash, keeping "
                             f"{', '.join(map(str, choice['keep']))} (tessera library restore IDS brings them back)")
                payload |= {"trashed": moved, "kept": choice["keep"]}
            emit(payload,
                 "\n".join(f"{p['kind']:10s} {p['a']} {titles.get(p['a'])} ~ {p['b']} {titles.get(p['b'])}  "
                           f"(layout {p['alignment']:.3f}, descriptor {p['descriptor']:.3f}, phash {p['hash']:.3f}, "
                           f"texture {p['texture']:.4f}, colour {p['colour']:.3f})"
                           for p in pairs)
                 + put_aside or "no near-duplicates at these thresholds")
            return 0
        if action in ("mockup", "mockups"):
            from desktop.cli.mockup import cmd_library_mockup

            return cmd_library_mockup(lib, _chosen(lib, args), args, emit)
        if action == "sheet":
            from desktop.library.export import export_sheet

            written = export_sheet(lib, _chosen(lib, args), Path(args.out), args.cell, args.columns,
                                   mockup=args.mockup, default_dpi=args.default_dpi)
            emit({"written": written}, f"wrote {written}")
            return 0
        if action == "export":
            from desktop.library.export import export_patterns

            written = export_patterns(lib, _chosen(lib, args), Path(args.out), args.dpi, args.format, args.as_basic,
                                      args.swatch)
            emit({"written": written}, "\n".join(f"wrote {w}" for w in written))
            return 0
        result = lib.check(repair=True)
        result["index"] = finder.reconcile(lib)
        emit(result, f"{'ok' if result['ok'] else 'PROBLEMS'}: {result['patterns']} patterns, quick_check "
             f"{result['quick_check']}, {len(result['missing_files'])} missing file(s), "
             f"{len(result['stray_files'])} stray file(s); index: removed "
             f"{len(result['index']['removed_from_index'])}, queued {len(result['index']['queued'])}"
             + "".join(f"\n  {action}" for action in result["repairs"])
             + "".join(f"\n  pattern {u['id']} ({u['file']}) cannot be opened again: {u['reason']}"
                       for u in result["unreadable_files"]))
        return 0 if result["ok"] else 1


# what reads the library and writes nothing to it: these run beside the open window
READING = {"list", "show", "search", "similar", "export", "sheet"}


def _open(root: Path, action: str):
    """The library for this command: beside the open window too (they share it through SQLite's
    locking). Where it cannot be shared (its schema to upgrade while another process has it open),
    a reading command opens it read-only and says so once on stderr; a writing one is refused."""
    from desktop.library import Library, LibraryLocked

    try:
        return Library(root)
    except LibraryLocked:
        if action not in READING:
            raise
        print("tessera: note: the library is open elsewhere and cannot be shared now: reading it only",
              file=sys.stderr)
        return Library(root, read_only=True)


def _selection_options(parser: argparse.ArgumentParser) -> None:
    """--collection, --status, --tag and --min-rating: patterns chosen as `library list` finds them."""
    group = parser.add_argument_group("choosing the patterns instead of naming them")
    group.add_argument("--collection", metavar="NAME", help="the patterns of this collection")
    group.add_argument("--status", choices=("draft", "approved", "rejected", "published"))
    group.add_argument("--tag", action="append", help="patterns with this tag (repeatable: all of them)")
    group.add_argument("--min-rating", type=int, default=0)


def _chosen(lib, args: argparse.Namespace) -> list[int]:
    """The ids named, or else those the selection options choose (newest first), never the whole
    library by accident."""
    chosen = any((args.collection, args.status, args.tag, args.min_rating))
    if args.ids and chosen:
        raise UserError("name the patterns, or choose them with --collection/--status/--tag/--min-rating, not both")
    if args.ids:
        return list(args.ids)
    if not chosen:
        raise UserError("name the pattern IDS, or choose them with --collection, --status, --tag or --min-rating")
    ids = [p["id"] for p in lib.list(status=args.status, tag=args.tag, min_rating=args.min_rating,
                                     collection=args.collection)]
    if not ids:
        raise UserError("no pattern matches that choice")
    return ids


def _trash(lib, args: argparse.Namespace, emit) -> int:
    from datetime import timedelta

    from desktop.library import ops, trash

    if args.library_command == "trash":
        moved = ops.trash(lib, args.ids).trashed
        emit({"trashed": moved}, f"moved {len(moved)} pattern(s) to the trash"
             + (f" (tessera library restore {' '.join(map(str, moved))} brings them back)" if moved else ""))
        return 0
    if args.library_command == "restore":
        back = ops.restore(lib, args.ids).restored  # (indexed again)
        emit({"restored": back}, f"restored {len(back)} pattern(s) from the trash")
        return 0
    older = timedelta(days=args.older_than) if args.older_than is not None else None
    if args.older_than is not None and args.older_than < 0:
        raise UserError("--older-than takes a number of days, 0 or more")
    if not args.yes:
        ids = trash.would_empty(lib, args.ids or None, older)
        listed = trash.summary(lib, ids)["published"] if ids else 0
        raise UserError(f"empty-trash would delete {len(ids)} pattern(s) and their files for good"
                        + (f" ({', '.join(map(str, ids[:10]))}{', …' if len(ids) > 10 else ''})" if ids else "")
                        + (f", {listed} of them on the marketplace (their listings stay there)" if listed else "")
                        + "; run it again with --yes")
    gone = ops.empty_trash(lib, args.ids or None, older).removed
    emit({"deleted": gone}, f"deleted {len(gone)} pattern(s) for good")
    return 0


def _collection(lib, args: argparse.Namespace, emit) -> int:
    from desktop.library import collections, ops

    if args.collection_action == "list":
        rows = collections.all_collections(lib)
        emit({"collections": rows}, "\n".join(f"{c['name']:24s} {c['patterns']} pattern(s)" for c in rows)
             or "no collections")
        return 0
    if not args.name:
        raise UserError(f"collection {args.collection_action} needs a NAME")
    if args.collection_action == "create":
        from desktop.palettes import parse_palette
        from desktop.repeat import parse_repeat

        if args.palette:
            parse_palette(args.palette)  # a bad palette is refused here, not when the brief is used
        brief = {"prompt": args.prompt, "repeat": parse_repeat(args.repeat).value, "qa_profile": args.qa_profile,
                 "palette": args.palette or ""}
        cid = collections.create(lib, args.name, brief)
        emit({"id": cid, "name": args.name, "brief": brief}, f"created collection {args.name}")
        return 0
    if args.collection_action == "rename":
        if not args.to:
            raise UserError("collection rename needs the new name: --to NEW")
        collections.rename(lib, args.name, args.to)
        emit({"renamed": [args.name, args.to]}, f"renamed {args.name} to {args.to}")
        return 0
    if args.collection_action == "delete":
        held = ops.delete_collection(lib, args.name).changed
        emit({"deleted": args.name, "patterns": held},
             f"deleted collection {args.name} ({len(held)} pattern(s), which stay in the library)")
        return 0
    if not args.ids:
        raise UserError(f"collection {args.collection_action} needs pattern IDS after the NAME")
    if args.collection_action == "remove":
        changes = ops.take_out_of_collection(lib, args.name, args.ids)
        emit({"removed": changes.changed}, f"took {len(changes.changed)} pattern(s) out of {args.name}")
        return 0
    changes = ops.add_to_collection(lib, args.name, args.ids, make_missing=False)
    emit({"added": changes.changed}, f"added {len(changes.changed)} pattern(s) to {args.name}")
    return 0


def _download_progress(args: argparse.Namespace, label: str = "Downloading CLIP weights"):
    """A progress bar on stderr for a download or a long read (quiet under --json)."""
    if getattr(args, "json", False):
        return None
    shown = {"at": -1}

    def progress(done: int, total: int) -> None:
        mb = done / 1e6
        if total:
            percent = int(100 * done / total)
            if percent == shown["at"] and done < total:
                return
            shown["at"] = percent
            bar = "#" * (percent // 4)
            sys.stderr.write(f"\r{label} [{bar:<25}] {percent:3d}% {mb:.0f}/{total / 1e6:.0f} MB")
        else:
            sys.stderr.write(f"\r{label} {mb:.0f} MB")
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return progress


def _attach_clip(lib) -> str:
    """Use CLIP when its weights are on this machine (queueing patterns it has not seen yet);
    otherwise return the plain reason."""
    from desktop.config import resolve_paths
    from desktop.library import search as finder

    return finder.ensure_clip(lib, resolve_paths().data_dir, download=False)


def _line(p: dict[str, Any]) -> str:
    tags = f" [{', '.join(p['tags'])}]" if p["tags"] else ""
    return f"{p['id']:6d}  {p['status']:9s} {'★' * p['rating']:5s} {p['repeat']:10s} {p['title']}{tags}"


def _emit_hits(lib, hits: list[dict[str, Any]], emit, clip_note: str = "") -> int:
    for hit in hits:
        hit["pattern"] = lib.get(hit["id"])
    method = hits[0]["method"] if hits else "descriptor"
    note = "CLIP" if method == "clip" else "the built-in descriptor (CLIP weights are not installed)"
    emit({"method": method, "results": hits, "clip_unavailable": clip_note or None},
         f"(searched with {note})\n" + "\n".join(
             f"{h['similarity']:.3f}  {_line(h['pattern'])}" for h in hits))
    return 0


COMMANDS = {"library": cmd_library, "models": cmd_models}
