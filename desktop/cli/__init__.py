"""`tessera …`: every job as a command, with `--json` for scripts.

Exit codes: 0 ok, 1 a check failed, 2 bad input or usage, 3 an internal error, 4 a publish sync
that stopped with patterns still queued.
Bad input gets one line on stderr; a traceback only with --debug.

One parser: each command family (a module of this package) adds its subcommands and names its
handlers in ``COMMANDS``; every subcommand's parser then carries its handler
(``set_defaults(func=…)``), and a handler is ``cmd(args, emit) -> exit code``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from desktop import __version__
from desktop.cli.generate import BRIEF_FLAGS
from desktop.errors import CheckFailed, UserError

__all__ = ["BRIEF_FLAGS", "build_parser", "main"]

log = logging.getLogger("tessera.cli")

class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")



# -- the parser -------------------------------------------------------------------------------
GLOBAL_DEFAULTS = {"json": False, "debug": False, "library": None}



def build_parser() -> argparse.ArgumentParser:
    from desktop.cli import colourways, doctor, generate, info, library, lora, mockup, publish, qa, verify

    # Accepted before the command and after it. No defaults here: a subcommand's parser would write
    # its default over a value given before the command name; main() fills in GLOBAL_DEFAULTS.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    common.add_argument("--library", metavar="DIR", help="the library folder (default: TESSERA_LIBRARY or settings)")

    parser = _Parser(prog="tessera", description="Tessera: seamless pattern studio. "
                     "Run with no arguments (python main.py) to open the window.", parents=[common])
    parser.add_argument("--version", action="version", version=f"tessera {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    families = (info, doctor, generate, qa, colourways, mockup, library, lora, publish, verify)
    for family in families:
        family.add_parsers(sub, common)
    library.add_model_parsers(sub, common)
    handlers = {name: fn for family in families for name, fn in family.COMMANDS.items()}
    for name, command in sub.choices.items():
        command.set_defaults(func=handlers[name])
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    from desktop.cli.common import emitter
    from desktop.config import resolve_paths
    from desktop.logs import setup_logging

    log_file = setup_logging(resolve_paths().log_file)
    try:
        if args.command is None:
            parser.print_help()
            return 0
        if args.command == "generate":  # style options go as --NAME VALUE: generate reads what is left
            args.argv, args.extra = argv, extra  # and which options were given outright (over a --brief)
        elif extra:
            raise UserError(f"unrecognised arguments: {' '.join(extra)}")
        return args.func(args, emitter(args))
    except (UserError, CheckFailed) as exc:
        if args.debug:
            raise
        print(f"tessera: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tessera: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        from desktop.bundle import missing_stack

        said = missing_stack(exc)  # PyTorch left out of a bundle, or not installed: one sentence
        if said is not None:
            print(f"tessera: error: {said}", file=sys.stderr)
            return said.exit_code
        log.exception("internal error")
        print(f"tessera: internal error: {exc} (details in {log_file})", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
