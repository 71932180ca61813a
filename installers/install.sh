#!/usr/bin/env bash
# Tessera's installer for Linux and macOS: one folder of yours, the right PyTorch, a menu entry,
# and an update and an uninstall that touch exactly what it made.
#
#   installers/install.sh [--prefix DIR] [--source DIR|TARBALL|URL] [--python PYTHON] [--yes]
#
# What it does, in order:
#   1. finds Python 3.11 or newer (--python, or python3.13/3.12/3.11/python3 on PATH; with none, uv
#      installs one of its own), and uv (on PATH, or installed from PyPI into the prefix);
#   2. copies Tessera's source into PREFIX/src (a clone, an unpacked release, or a tarball/URL) and
#      makes PREFIX/venv with it installed;
#   3. picks the PyTorch build for this machine (desktop/torch_build.py: the NVIDIA driver's CUDA,
#      Apple's Metal, or the CPU) and installs it from the wheel index that has it;
#   4. on Linux, names Qt's missing X11 system libraries with the apt-get command (installs them when
#      run as root);
#   5. writes PREFIX/bin/{tessera,tessera-studio,tessera-update,tessera-uninstall}, a menu entry
#      (Linux: ~/.local/share/applications; macOS: ~/Applications/Tessera.app) and links in
#      ~/.local/bin, each listed in PREFIX/manifest.txt for the uninstall.
#
# Running it again (or tessera-update) updates in place. The library, settings and logs live in your
# user folders, not in PREFIX: updates keep them, and the uninstall leaves them (it says where).
# Environment: TESSERA_TORCH_INDEX=pypi|URL overrides the chosen wheel index (pypi: PyPI's own);
# UV_CACHE_DIR, UV_INDEX_URL and friends are uv's own. Windows: installers/install.ps1.
set -euo pipefail

# Everything in one function, read whole before it runs: an update may replace this file meanwhile.
main() {

# the operating system's certificates, as pip uses them: a studio's proxy signs with its own
export UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}"

say() { printf 'tessera-install: %s\n' "$*"; }
die() { printf 'tessera-install: %s\n' "$*" >&2; exit 1; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="${BASH_SOURCE[0]}"
case "$(uname -s)" in
  Darwin) SYSTEM=macos; DEFAULT_PREFIX="$HOME/Library/Application Support/Tessera-app" ;;
  Linux) SYSTEM=linux; DEFAULT_PREFIX="${XDG_DATA_HOME:-$HOME/.local/share}/tessera-app" ;;
  *) die "this installer is for Linux and macOS; on Windows run installers/install.ps1" ;;
esac
PREFIX="$DEFAULT_PREFIX"
SOURCE=""
PYTHON="${PYTHON:-}"
YES=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a folder}"; shift 2 ;;
    --source) SOURCE="${2:?--source needs a folder, a tarball or a URL}"; shift 2 ;;
    --python) PYTHON="${2:?--python needs an interpreter}"; shift 2 ;;
    --yes|-y) YES=1; shift ;;
    -h|--help) sed -n '2,27p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
mkdir -p "$PREFIX"
PREFIX="$(cd "$PREFIX" && pwd)"
[ -z "$SOURCE" ] && [ -f "$PREFIX/install.conf" ] && SOURCE="$(sed -n 's/^source=//p' "$PREFIX/install.conf")"
[ -z "$SOURCE" ] && SOURCE="$(cd "$HERE/.." && pwd)"  # the clone (or unpacked release) this script is in

# -- 1. Python and uv --------------------------------------------------------------------------------
python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; }
if [ -n "$PYTHON" ]; then
  python_ok "$PYTHON" || die "$PYTHON is not Python 3.11 or newer"
else
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$(command -v "$candidate")"; then
      PYTHON="$(command -v "$candidate")"; break
    fi
  done
fi
UV="$(command -v uv || true)"
if [ -z "$UV" ]; then
  if [ -x "$PREFIX/tools/bin/uv" ]; then
    UV="$PREFIX/tools/bin/uv"
  else
    BOOT="${PYTHON:-$(command -v python3 || true)}"
    [ -n "$BOOT" ] || die "no Python found: install Python 3.11 or newer (python.org, or your package manager), then run this again"
    say "installing uv (Astral's Python package installer) into $PREFIX/tools"
    "$BOOT" -m venv "$PREFIX/tools" \
      && PIP_DISABLE_PIP_VERSION_CHECK=1 "$PREFIX/tools/bin/python" -m pip install --quiet --no-cache-dir uv \
      || die "could not install uv from PyPI: check the network, then run this again"
    UV="$PREFIX/tools/bin/uv"
  fi
fi
if [ -z "$PYTHON" ]; then
  say "no Python 3.11 or newer here: uv installs one for Tessera"
  "$UV" python install 3.11 || die "uv could not install Python 3.11: install it yourself, then run this again"
  PYTHON="$("$UV" python find 3.11)"
fi
say "Python: $PYTHON ($("$PYTHON" -c 'import platform; print(platform.python_version())'))"

# -- 2. the source, and the environment ---------------------------------------------------------------
STAGE="$PREFIX/src.new"
rm -rf "$STAGE"; mkdir -p "$STAGE"
case "$SOURCE" in
  http://*|https://*)
    say "downloading $SOURCE"
    curl -fsSL "$SOURCE" -o "$PREFIX/source.tar.gz" || die "could not download $SOURCE"
    tar -xzf "$PREFIX/source.tar.gz" -C "$STAGE" --strip-components=1; rm -f "$PREFIX/source.tar.gz" ;;
  *.tar.gz|*.tgz) tar -xzf "$SOURCE" -C "$STAGE" --strip-components=1 ;;
  *)
    [ -f "$SOURCE/pyproject.toml" ] || die "$SOURCE is not Tessera's source (no pyproject.toml there)"
    # the source as a release has it: no git history, environments, caches or test mutants
    (cd "$SOURCE" && tar -cf - --exclude=./.git --exclude=./.venv --exclude=./mutants --exclude='*.egg-info' \
       --exclude=__pycache__ --exclude=./build --exclude=./dist .) | (cd "$STAGE" && tar -xf -) ;;
esac
[ -f "$STAGE/pyproject.toml" ] && [ -d "$STAGE/desktop" ] || die "$SOURCE does not hold Tessera's source"
rm -rf "$PREFIX/src"; mv "$STAGE" "$PREFIX/src"
SRC="$PREFIX/src"
[ -x "$PREFIX/venv/bin/python" ] || "$UV" venv --quiet --python "$PYTHON" "$PREFIX/venv"
VPY="$PREFIX/venv/bin/python"

# -- 3. PyTorch for this machine ------------------------------------------------------------------------
CHOICE="$("$PYTHON" "$SRC/desktop/torch_build.py")" || die "could not tell which PyTorch build fits this machine"
TORCH_TAG="$(printf '%s' "$CHOICE" | cut -f1)"
TORCH_INDEX="$(printf '%s' "$CHOICE" | cut -f2)"
case "${TESSERA_TORCH_INDEX:-}" in
  "") say "PyTorch: the $TORCH_TAG build ($(printf '%s' "$CHOICE" | cut -f3))" ;;
  pypi) TORCH_TAG=pypi; TORCH_INDEX=""; say "PyTorch: PyPI's own build (TESSERA_TORCH_INDEX=pypi)" ;;
  *) TORCH_TAG=custom; TORCH_INDEX="$TESSERA_TORCH_INDEX"; say "PyTorch: from $TORCH_INDEX (TESSERA_TORCH_INDEX)" ;;
esac
PINS="$(grep -oE '"(torch|torchvision)==[^"]+"' "$SRC/pyproject.toml" | tr -d '"' | tr '\n' ' ')"
if [ -n "$TORCH_INDEX" ]; then
  # PyTorch's index first for torch itself; PyPI stays the default for everything else
  # shellcheck disable=SC2086
  "$UV" pip install --quiet --python "$VPY" --extra-index-url "$TORCH_INDEX" --index-strategy first-index $PINS \
    || die "could not install PyTorch from $TORCH_INDEX (TESSERA_TORCH_INDEX=pypi uses PyPI's own build)"
fi
say "installing Tessera and its libraries (a few minutes the first time)"
"$UV" pip install --quiet --python "$VPY" -e "$SRC" || die "the install failed; the messages above say why"

# -- 4. Qt's system libraries (Linux) --------------------------------------------------------------------
if [ "$SYSTEM" = linux ]; then
  if [ "$(id -u)" = 0 ]; then
    "$VPY" -m desktop.syslibs --install || say "Qt's system libraries are still missing: see above"
  else
    "$VPY" -m desktop.syslibs >/dev/null 2>&1 || { say "the window needs system libraries first:"; "$VPY" -m desktop.syslibs || true; }
  fi
fi

# -- 5. commands, menu entry, manifest ------------------------------------------------------------------
mkdir -p "$PREFIX/bin"
for name in tessera tessera-studio; do
  printf '#!/bin/sh\nexec "%s/venv/bin/%s" "$@"\n' "$PREFIX" "$name" > "$PREFIX/bin/$name"
done
# (a new name, then moved over: a running update keeps reading the copy it started from)
cp "$SRC/installers/install.sh" "$PREFIX/install.sh.new" && mv -f "$PREFIX/install.sh.new" "$PREFIX/install.sh"
printf '#!/bin/sh\n# Tessera update: the source again from where it came, the environment brought up to it.\nexec bash "%s/install.sh" --prefix "%s" "$@"\n' \
  "$PREFIX" "$PREFIX" > "$PREFIX/bin/tessera-update"
cp "$SRC/installers/uninstall.sh" "$PREFIX/bin/tessera-uninstall"
chmod +x "$PREFIX/bin/"*
{
  echo "source=$SOURCE"
  echo "python=$PYTHON"
  echo "torch=$TORCH_TAG ${TORCH_INDEX:-pypi}"
  echo "installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$PREFIX/install.conf"

MANIFEST="$PREFIX/manifest.txt"
OLD_MANIFEST="$(cat "$MANIFEST" 2>/dev/null || true)"
: > "$MANIFEST"
made() { printf '%s\n' "$1" >> "$MANIFEST"; }
folder() {  # a folder outside PREFIX: made here (then the uninstall removes it if it is empty), or kept
  if [ ! -d "$1" ]; then mkdir -p "$1"; made "dir:$1"
  elif printf '%s\n' "$OLD_MANIFEST" | grep -qxF "dir:$1"; then made "dir:$1"; fi
}
if [ "$SYSTEM" = linux ]; then
  APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
  folder "$APPS"
  sed -e "s|^Exec=.*|Exec=\"$PREFIX/bin/tessera-studio\"|" -e "s|^Icon=.*|Icon=$SRC/installers/tessera.svg|" \
    "$SRC/installers/tessera.desktop" > "$APPS/tessera.desktop"
  echo "X-Tessera-Prefix=$PREFIX" >> "$APPS/tessera.desktop"
  made "$APPS/tessera.desktop"
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$APPS" >/dev/null 2>&1 || true
else
  APP="$HOME/Applications/Tessera.app"
  folder "$HOME/Applications"
  mkdir -p "$APP/Contents/MacOS"
  printf '#!/bin/sh\nexec "%s/bin/tessera-studio" "$@"\n' "$PREFIX" > "$APP/Contents/MacOS/Tessera"
  chmod +x "$APP/Contents/MacOS/Tessera"
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>CFBundleName</key><string>Tessera</string><key>CFBundleExecutable</key><string>Tessera</string><key>CFBundleIdentifier</key><string>studio.tessera.app</string><key>CFBundlePackageType</key><string>APPL</string></dict></plist>\n' \
    > "$APP/Contents/Info.plist"
  made "$APP"
fi
LINKS="$HOME/.local/bin"
folder "$LINKS"
for name in tessera tessera-studio tessera-update tessera-uninstall; do
  if [ ! -e "$LINKS/$name" ] || [ "$(readlink "$LINKS/$name" 2>/dev/null)" = "$PREFIX/bin/$name" ]; then
    ln -sfn "$PREFIX/bin/$name" "$LINKS/$name"
    made "$LINKS/$name"
  else
    say "left $LINKS/$name alone (not ours); run $PREFIX/bin/$name instead"
  fi
done

VERSION="$("$PREFIX/bin/tessera" --version 2>&1)" || die "installed, but it does not start: $VERSION"
say "done: $VERSION in $PREFIX"
case ":$PATH:" in *":$LINKS:"*) ;; *) say "add $LINKS to your PATH to run 'tessera' from any terminal" ;; esac
say "open it from your applications menu, or run tessera-studio; tessera doctor checks this machine"
}

main "$@"
