"""Tessera entry point: no arguments opens the window, anything else runs the CLI."""

import sys


def main() -> int:
    if len(sys.argv) > 1:
        from desktop.cli import main as cli_main

        return cli_main(sys.argv[1:])
    from desktop.ui.app import main as ui_main

    return ui_main()


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen build's render process (desktop/worker_process.py) starts here
    raise SystemExit(main())
