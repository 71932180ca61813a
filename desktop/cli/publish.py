"""`tessera publish login|queue|sync|status`: approved patterns to the marketplace, through an
outbox that keeps what was queued offline until the next sync. `tessera market serve --demo`: a
marketplace on this machine to try that on."""

from __future__ import annotations

import argparse
import sys

from desktop.errors import UserError

STOPPED = 4  # the sync stopped with patterns still queued


SYNC_EXITS = ("Exit 0 when every queued pattern went, 1 when a listing failed (the marketplace refused it), "
              "4 when the sync stopped with patterns still queued (no login, the marketplace unreachable, busy "
              "past a minute's wait, or the token refused: they go with the next sync), 2 on bad input. With "
              "--json: published, failed (with why), still_queued and stopped (why).")


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    market = sub.add_parser("market", parents=[common], help="a demo marketplace on this machine, to try publishing")
    mcmds = market.add_subparsers(dest="market_command", metavar="ACTION", required=True)
    serve = mcmds.add_parser(
        "serve", parents=[common], help="serve the demo marketplace until Ctrl+C",
        description="Serve a marketplace on this machine that speaks Tessera's marketplace API, to try the "
        "whole publish cycle without an account: log in to the address it prints with its token, queue and "
        "sync, and see the listings at its page. It keeps them in memory only. Exit 0 when stopped with "
        "Ctrl+C, 2 on bad input (a port in use, an address that is not this machine's).")
    serve.add_argument("--demo", action="store_true", required=True, help="the demo marketplace (the only one)")
    serve.add_argument("--port", type=int, default=8765, help="its port (default 8765; 0: any free one)")
    serve.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default), localhost or ::1")
    serve.add_argument("--token", default="demo", help="the token it accepts (default: demo)")
    pub = sub.add_parser("publish", parents=[common], help="publish approved patterns to the marketplace")
    cmds = pub.add_subparsers(dest="publish_command", metavar="ACTION", required=True)
    login = cmds.add_parser("login", parents=[common], help="save the marketplace's address and your API token")
    login.add_argument("url", help="the marketplace API address, like https://market.example.com")
    login.add_argument("--token", help="the API token (default: read from standard input)")
    qu = cmds.add_parser("queue", parents=[common], help="queue approved patterns, then sync (unless --no-sync)",
                         description="Queue approved patterns, then sync (unless --no-sync). " + SYNC_EXITS
                         .replace("Exit 0 when every queued pattern went", "Exit 0 when what was queued went (or, "
                                  "with --no-sync, was queued)")
                         .replace("1 when a listing failed", "1 when nothing could be queued (every pattern named was "
                                  "refused: not approved, already published, not there) or a listing failed"))
    qu.add_argument("ids", nargs="*", type=int, metavar="ID")
    qu.add_argument("--approved", action="store_true", help="every approved pattern not yet published")
    qu.add_argument("--no-sync", action="store_true", help="only queue (working offline); 'sync' sends them later")
    sy = cmds.add_parser("sync", parents=[common], help="send what is queued", description="Send what is queued. "
                         + SYNC_EXITS)
    for parser in (qu, sy):
        parser.add_argument("--no-mockups", action="store_true",
                            help="send the listings without product mockups (the settings' listing_mockups)")
    for parser in (qu, sy):
        parser.add_argument("--profile", metavar="NAME",
                            help="the marketplace profile whose limits the listings keep (resources/marketplaces: "
                            "generic, etsy; default: the settings' marketplace_profile, generic)")
    li = cmds.add_parser(
        "listing", parents=[common], help="a pattern's listing as it will be sent: show it, or edit and keep it",
        description="A pattern's listing as it will be sent: its title, tags, description, print size and AI "
        "disclosure, drafted from the pattern until you edit it. --set keeps your edits (what 'sync' then sends); "
        "a listing that breaks the profile's limits says which and is not kept. Exit 0 when the listing keeps "
        "every limit (and, with --set, was kept), 1 when it shows one it breaks, 2 on bad input (an edit that "
        "breaks a limit, an unknown field or profile, no such pattern): nothing is written then.")
    li.add_argument("id", type=int, metavar="ID")
    li.add_argument("--profile", metavar="NAME",
                    help="the marketplace profile (resources/marketplaces: generic, etsy; default: the settings')")
    li.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="title=…, tags=a,b,c or description=… (repeatable)")
    bu = cmds.add_parser(
        "bundle", parents=[common], help="files to upload by hand, for a marketplace without an API",
        description="For a marketplace without an API (upload by hand): one folder (or zip) per pattern with the "
        "print file at the profile's DPI (with the XMP disclosure), a 3x3 swatch, the mockups, and the listing "
        "(title, tags, description, the repeat as that site names it, the print size, how it was made), and a "
        "contact sheet of the batch. Nothing is written when a listing breaks the profile's limits. Exit 0 when "
        "written, 2 on bad input (no such pattern, a listing over a limit, an unknown profile or product, a "
        "folder that cannot be written).")
    bu.add_argument("ids", nargs="+", type=int, metavar="ID")
    bu.add_argument("--out", required=True, help="the folder the bundles go in")
    bu.add_argument("--profile", metavar="NAME",
                    help="the marketplace profile (resources/marketplaces: spoonflower, etsy, generic; default: the "
                    "settings')")
    bu.add_argument("--zip", action="store_true", help="one zip per pattern instead of a folder")
    bu.add_argument("--mockups", metavar="PRODUCTS",
                    help="comma-separated products (default: the settings' listing mockups; 'none' for none)")
    st = cmds.add_parser("status", parents=[common], help="the outbox: queued, published and failed patterns")
    st.add_argument("--state", choices=("queued", "published", "failed"))


def cmd_publish(args: argparse.Namespace, emit) -> int:
    from desktop.cli.common import library_root
    from desktop.library import Library, publishing

    if args.publish_command == "login":
        return _login(args, emit)
    if getattr(args, "profile", None) is None and args.publish_command in ("listing", "queue", "sync", "bundle"):
        from desktop.config import load_settings, resolve_paths

        args.profile = load_settings(resolve_paths().settings_file).marketplace_profile
    with Library(library_root(args)) as lib:
        if args.publish_command == "listing":
            return _listing(lib, args, emit)
        if args.publish_command == "bundle":
            return _bundle(lib, args, emit)
        if args.publish_command == "status":
            rows = publishing.outbox(lib, args.state)
            lines = [f"{r['id']:6d}  {r['state']:9s}  {r['url'] or r['error'] or 'waiting for a sync'}" for r in rows]
            emit({"outbox": rows}, "\n".join(lines) or "nothing queued or published yet")
            return 0
        payload: dict = {}
        text: list[str] = []
        if args.publish_command == "queue":
            ids = list(args.ids)
            if args.approved:
                ids += [p["id"] for p in lib.list(status="approved")]
            if not ids:
                raise UserError("name the patterns to publish (IDs), or --approved for every approved one")
            from desktop.library import ops

            queued = ops.queue_for_marketplace(lib, ids, profile=args.profile)
            payload = {"queued": [{"id": i} for i in queued.changed], "skipped": queued.skipped}
            text.append(f"queued {len(payload['queued'])}" + "".join(
                f"\n  skipped {s['id']}: {s['reason']}" for s in payload["skipped"]))
            nothing = not payload["queued"] and bool(payload["skipped"])  # every one named was refused
            if args.no_sync:
                emit(payload, "\n".join(text) + "\n'tessera publish sync' sends them")
                return 1 if nothing else 0
        result = _sync(lib, with_mockups=not args.no_mockups, profile=args.profile)
        payload.update(result)
        text.append(f"published {len(result['published'])}, failed {len(result['failed'])}, "
                    f"{result['waiting']} waiting" + "".join(f"\n  {p['id']}: {p['url'] or p['listing_id']}"
                                                            for p in result["published"])
                    + "".join(f"\n  {f['id']} failed: {f['error']}" for f in result["failed"]))
        if result["stopped"]:
            print(f"tessera: warning: {result['stopped']}; {result['waiting']} pattern(s) stay queued",
                  file=sys.stderr)
        emit(payload, "\n".join(text))
        refused_all = args.publish_command == "queue" and not payload["queued"] and bool(payload["skipped"])
        if result["failed"] or refused_all:
            return 1
        return STOPPED if result["stopped"] and result["waiting"] else 0


def _listing(lib, args: argparse.Namespace, emit) -> int:
    from desktop.library import listings, ops

    profile = listings.load_profile(args.profile)
    listing = listings.current(lib, args.id, profile)
    if args.set:
        changes = {}
        for assignment in args.set:
            name, sep, value = assignment.partition("=")
            if not sep:
                raise UserError(f"--set takes FIELD=VALUE, not '{assignment}'")
            changes[name.strip()] = value
        listing = listings.edited(listing, changes)
        ops.save_listing(lib, listing, profile)
    text = [f"{listing.title}", f"tags: {', '.join(listing.tags)}", f"print: {listing.print_size}",
            f"made: {listing.disclosure}", "", listing.description, "",
            ("reviewed and kept" if listing.reviewed else "drafted (not yet reviewed)") + f" for {profile.label}"]
    text += [f"breaks: {p}" for p in listing.problems]
    emit(listing.as_dict(), "\n".join(text))
    return 1 if listing.problems else 0


def _bundle(lib, args: argparse.Namespace, emit) -> int:
    from pathlib import Path

    from desktop.config import load_settings, resolve_paths
    from desktop.library import listings
    from desktop.library.bundles import export_bundles

    if args.mockups is None:
        products = list(load_settings(resolve_paths().settings_file).listing_mockups)
    else:
        products = [] if args.mockups.strip() == "none" else [p.strip() for p in args.mockups.split(",") if p.strip()]
    made = export_bundles(lib, list(args.ids), Path(args.out), listings.load_profile(args.profile), products,
                          as_zip=args.zip)
    emit(made, "\n".join([*made["bundles"], made["contact_sheet"]]))
    return 0


def _sync(lib, with_mockups: bool = True, profile: str = "generic") -> dict:
    from desktop.config import load_settings, resolve_paths
    from desktop.library import publishing
    from desktop.library.marketplace import Marketplace, load_account

    account = load_account()
    if account is None:
        waiting = len(publishing.outbox(lib, "queued"))
        return {"published": [], "failed": [], "waiting": waiting,
                "still_queued": [row["id"] for row in publishing.outbox(lib, "queued")],
                "stopped": "no marketplace login yet ('tessera publish login URL')"}
    settings = load_settings(resolve_paths().settings_file)
    return publishing.sync(lib, Marketplace(account), mockups=settings.listing_mockups if with_mockups else (),
                           default_dpi=settings.default_dpi, profile=profile)


def _login(args: argparse.Namespace, emit) -> int:
    from desktop.library.marketplace import Account, Marketplace, Offline, check_login, save_account

    token = args.token if args.token is not None else sys.stdin.readline().strip()
    check_login(args.url, token)
    try:  # a refused token is said here and not saved
        me = Marketplace(Account(args.url.strip().rstrip("/"), token.strip()), retries=1).whoami()
        checked = f"logged in as {me.get('name', '?')}"
    except Offline as exc:  # saved anyway: the first sync online will tell
        checked = f"saved, not checked: {exc}"
    from desktop.library.marketplace import NO_KEYRING

    path, where = save_account(args.url, token)
    kept = "the token is in the OS keyring" if where == "keyring" else NO_KEYRING.format(path=path)
    emit({"saved": str(path), "token_in": where, "checked": checked}, f"{checked}; {kept}")
    return 0


def cmd_market(args: argparse.Namespace, emit) -> int:
    import signal
    import threading

    from desktop.library.demo_market import DemoMarket

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, not {args.port}")
    try:
        market = DemoMarket(token=args.token, host=args.host, port=args.port, name="Your studio")
    except OSError as exc:
        raise UserError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    stop = threading.Event()

    def stopping(signum, frame):  # Ctrl+C, or a service manager's SIGTERM (and SIGINT even where it was ignored)
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        emit({"url": market.url, "token": args.token, "page": market.url + "/"},
             f"Demo marketplace at {market.url} (listings kept in memory until it stops)\n"
             f"  log in:   tessera publish login {market.url} --token {args.token}\n"
             f"  publish:  tessera publish queue --approved\n"
             f"  listings: {market.url}/\n"
             "Ctrl+C stops it.")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        print(f"stopped; {len(market.listings)} listing(s) were made", file=sys.stderr)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        market.close()
    return 0


COMMANDS = {"publish": cmd_publish, "market": cmd_market}
