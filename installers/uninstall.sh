#!/usr/bin/env bash
# Tessera's uninstall (Linux and macOS): removes exactly what installers/install.sh made, the files
# listed in PREFIX/manifest.txt (each only while it is still ours) and PREFIX itself. Your library,
# settings and logs are yours: they stay, and this says where.
#
#   tessera-uninstall [--yes]
set -euo pipefail
PREFIX="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}" 2>/dev/null || echo "${BASH_SOURCE[0]}")")/.." && pwd)"
[ -f "$PREFIX/install.conf" ] || { echo "tessera-uninstall: $PREFIX is not a Tessera install (no install.conf)" >&2; exit 1; }
if [ "${1:-}" != "--yes" ] && [ "${1:-}" != "-y" ]; then
  printf 'Remove Tessera from %s? Your library and settings stay. [y/N] ' "$PREFIX"
  read -r answer
  case "$answer" in y|Y|yes) ;; *) echo "tessera-uninstall: nothing removed"; exit 0 ;; esac
fi
KEPT="$("$PREFIX/venv/bin/python" -c 'from desktop.config import resolve_paths as r; p = r(); print(p.library_dir, p.config_dir, p.log_dir, p.cache_dir, sep="\n")' 2>/dev/null || true)"
ours() {  # the entry still points into this install (a file someone else put there since is left alone)
  local entry="$1"
  if [ -L "$entry" ]; then case "$(readlink "$entry")" in "$PREFIX"/*) return 0 ;; *) return 1 ;; esac; fi
  if [ -d "$entry" ]; then grep -rqs -- "$PREFIX" "$entry"; return $?; fi
  [ -f "$entry" ] && grep -qs -- "X-Tessera-Prefix=$PREFIX" "$entry"
}
if [ -f "$PREFIX/manifest.txt" ]; then
  while IFS= read -r entry; do
    case "$entry" in ""|dir:*) continue ;; esac
    if [ -e "$entry" ] || [ -L "$entry" ]; then
      if ours "$entry"; then rm -rf -- "$entry"; else echo "tessera-uninstall: left $entry (not ours any more)"; fi
    fi
  done < "$PREFIX/manifest.txt"
  # the folders the install made, deepest first, each only if nothing else has moved in since
  grep '^dir:' "$PREFIX/manifest.txt" | sed 's/^dir://' | sort -r | while IFS= read -r folder; do
    rmdir -- "$folder" 2>/dev/null || true
  done
fi
rm -rf -- "$PREFIX"
echo "tessera-uninstall: Tessera is removed from $PREFIX"
if [ -n "$KEPT" ]; then
  echo "tessera-uninstall: kept (yours; delete them by hand if you wish):"
  printf '%s\n' "$KEPT" | while IFS= read -r folder; do [ -e "$folder" ] && echo "  $folder"; done
fi
exit 0
