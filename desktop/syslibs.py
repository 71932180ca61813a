"""Qt's system libraries on Linux: the one place that checks them (`make run`, the window's start).

Qt's X11 platform plugin loads a few libraries that stock desktop installs often lack
(libxcb-cursor0 on Ubuntu is the usual gap); without them Qt aborts the process with a message
about "xcb" that few users can act on. This module names what is missing, and, where the user may
install packages (root, or sudo that does not ask for a password), installs them with apt-get:

    python -m desktop.syslibs            say what is missing (exit 0 when nothing is, 2 when it is)
    python -m desktop.syslibs --install  install what is missing where allowed, else print the command
                                         (exit 0 when nothing is missing at the end, 2 when it still is)

A library counts as present when the dynamic linker's cache knows it (ctypes.util.find_library) or
when a folder on LD_LIBRARY_PATH holds it.
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# the library (as find_library names it) -> its Debian/Ubuntu package
QT_X11_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xkbcommon-x11": "libxkbcommon-x11-0",
                    "xcb-keysyms": "libxcb-keysyms1", "xcb-image": "libxcb-image0", "xcb-render-util": "libxcb-render-util0"}
# the same libraries in the other package managers' names (Fedora/RHEL, Arch, openSUSE)
PACKAGES = {
    "apt-get": QT_X11_LIBRARIES,
    "dnf": {"xcb-cursor": "xcb-util-cursor", "xcb-icccm": "xcb-util-wm", "xkbcommon-x11": "libxkbcommon-x11",
            "xcb-keysyms": "xcb-util-keysyms", "xcb-image": "xcb-util-image", "xcb-render-util": "xcb-util-renderutil"},
    "pacman": {"xcb-cursor": "xcb-util-cursor", "xcb-icccm": "xcb-util-wm", "xkbcommon-x11": "libxkbcommon-x11",
               "xcb-keysyms": "xcb-util-keysyms", "xcb-image": "xcb-util-image", "xcb-render-util": "xcb-util-renderutil"},
    "zypper": QT_X11_LIBRARIES,  # openSUSE names them as Debian does
}
INSTALL = {"apt-get": ["apt-get", "install", "-y", "--no-install-recommends"], "dnf": ["dnf", "install", "-y"],
           "pacman": ["pacman", "-S", "--needed", "--noconfirm"], "zypper": ["zypper", "--non-interactive", "install"]}


def package_manager(which: Callable[[str], str | None] = shutil.which) -> str:
    """This machine's package manager among those Tessera knows (apt-get when none is found)."""
    return next((name for name in INSTALL if which(name)), "apt-get")


def needs_x11(env: dict[str, str] | None = None) -> bool:
    """Whether Qt will open its X11 plugin here: Linux, an X display, no Wayland, no platform set."""
    env = os.environ if env is None else env
    return (sys.platform.startswith("linux") and not env.get("QT_QPA_PLATFORM") and bool(env.get("DISPLAY"))
            and not env.get("WAYLAND_DISPLAY"))


def _on_library_path(name: str, env: dict[str, str]) -> bool:
    for folder in filter(None, env.get("LD_LIBRARY_PATH", "").split(os.pathsep)):
        try:
            if any(Path(folder).glob(f"lib{name}.so*")):
                return True
        except OSError:
            continue
    return False


def missing_packages(env: dict[str, str] | None = None,
                     find: Callable[[str], str | None] = ctypes.util.find_library, manager: str = "apt-get") -> list[str]:
    """The packages (in `manager`'s names) of the Qt X11 libraries that neither the linker's cache nor
    LD_LIBRARY_PATH has."""
    env = os.environ if env is None else env
    names = PACKAGES.get(manager, QT_X11_LIBRARIES)
    return [names[lib] for lib in QT_X11_LIBRARIES if find(lib) is None and not _on_library_path(lib, env)]


def install_command(packages: list[str], root: bool | None = None, manager: str = "apt-get") -> list[str]:
    root = (os.geteuid() == 0) if root is None else root
    return ([] if root else ["sudo", "-n"]) + [*INSTALL.get(manager, INSTALL["apt-get"]), *packages]


def shown_command(packages: list[str], manager: str = "apt-get") -> str:
    """The install command as a person types it (sudo, which may ask for a password)."""
    return " ".join(["sudo", *INSTALL.get(manager, INSTALL["apt-get"]), *packages])


def may_install(run: Callable = subprocess.run) -> bool:
    """Whether packages can be installed here without asking: apt-get, and root or a sudo that does
    not ask for a password."""
    if shutil.which(package_manager()) is None:
        return False
    if os.geteuid() == 0:
        return True
    if shutil.which("sudo") is None:
        return False
    try:
        return run(["sudo", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def main(argv: list[str] | None = None, run: Callable = subprocess.run, env: dict[str, str] | None = None,
         find: Callable[[str], str | None] = ctypes.util.find_library) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.syslibs", description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="install what is missing, where allowed")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    if not needs_x11(env):
        return 0
    manager = package_manager()
    missing = missing_packages(env, find, manager)
    if not missing:
        return 0
    command = install_command(missing, manager=manager)
    if args.install and may_install(run):
        print(f"tessera: installing Qt's X11 libraries: {' '.join(missing)}", file=sys.stderr)
        done = run(command, timeout=600)
        if done.returncode != 0 and manager == "apt-get":  # a fresh machine's package lists may be empty
            update = ([] if os.geteuid() == 0 else ["sudo", "-n"]) + ["apt-get", "update"]
            if run(update, timeout=600).returncode == 0:
                done = run(command, timeout=600)
        missing = missing_packages(env, find, manager)
        if not missing:
            return 0
    print(f"tessera: Qt's X11 window support needs system libraries that are missing. "
          f"Install them with: {shown_command(missing, manager)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
