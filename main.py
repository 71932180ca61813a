"""Tessera entry point: no arguments opens the window, anything else runs the CLI."""

import sys


def main() -> int:
    from desktop.bundle import add_site_packages

    add_site_packages()  # a bundle's PyTorch from an environment of the user's (TESSERA_SITE_PACKAGES)
    if sys.argv[1:] == ["--probe-devices"]:  # the GPU probe's child process, in a bundle (desktop/hardware.py)
        import json

        from desktop.hardware import probe_devices

        print(json.dumps(probe_devices()))
        return 0
    if len(sys.argv) > 1:
        from desktop.cli import main as cli_main

        return cli_main(sys.argv[1:])
    from desktop.ui.app import main as ui_main

    return ui_main()


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen build's render process (desktop/worker_process.py) starts here
    raise SystemExit(main())
