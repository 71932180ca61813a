"""`tessera verify FILE`: what a file's C2PA Content Credentials say, and whether they validate."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.errors import CheckFailed, UserError

DESCRIPTION = ("Read a file's C2PA Content Credentials: what was done (created, recoloured, repaired, resized), "
               "from what (its ingredients), with which model, how it was made (the IPTC digital source type), who "
               "signed it, and whether the manifest validates. A studio's own certificate is reported as not from a "
               "trusted authority unless its root is given with --trust (Tessera keeps the studio's at "
               "CONFIG/credentials/studio-root.pem). Exit 0 when the manifest validates (and, with --trust, its "
               "signer is trusted), 1 when it does not, 2 when the file has no manifest or cannot be read.")


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    verify = sub.add_parser("verify", parents=[common], help="read and validate a file's content credentials",
                            description=DESCRIPTION)
    verify.add_argument("file")
    verify.add_argument("--trust", metavar="ROOT", help="a root certificate (PEM) whose signers count as trusted")


def cmd_verify(args: argparse.Namespace, emit) -> int:
    from desktop.library import credentials

    path = Path(args.file).expanduser()
    try:
        data = path.read_bytes()
        trust = Path(args.trust).expanduser().read_bytes() if args.trust else None
    except OSError as exc:
        raise UserError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
    if trust is not None and b"BEGIN CERTIFICATE" not in trust:
        raise UserError(f"{args.trust} is not a PEM certificate")
    kind = path.suffix.lstrip(".").lower()
    found = credentials.read(data, kind, trust)
    if found is None:
        raise UserError(f"{path} has no content credentials" if kind in credentials.MIME else
                        f"{path}: content credentials are read from PNG, TIFF and JPEG files")
    emit({"file": str(path), **found}, credentials.as_text(found))
    if not found["valid"] or (trust is not None and not found["trusted"]):
        raise CheckFailed("the content credentials do not validate" if not found["valid"] else
                          "the content credentials validate, but their signer is not from the root given")
    return 0


COMMANDS = {"verify": cmd_verify}
