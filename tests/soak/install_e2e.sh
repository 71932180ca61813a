#!/usr/bin/env bash
# The installer end to end, for real: uv and PyPI, a throwaway HOME and prefix, the system's Python.
#
#   bash tests/soak/install_e2e.sh [PYTHON]      (needs PyPI; PyTorch's own index is not needed)
#
# install -> tessera doctor --json -> the window opens (QT_QPA_PLATFORM=offscreen; Xvfb where there is
# one) -> a tile generated and imported -> update in place (the library kept) -> uninstall, and HOME
# compared with what it held before: only the user's own data folders may remain. Prints one JSON line.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${1:-$(command -v python3.11 || command -v python3)}"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
H="$WORK/home"; P="$WORK/app"; mkdir -p "$H"
E=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$H" LANG=C.UTF-8 UV_CACHE_DIR="${UV_CACHE_DIR:-$HOME/.cache/uv}"
   TESSERA_TORCH_INDEX="${TESSERA_TORCH_INDEX:-}" PIP_CONFIG_FILE="${PIP_CONFIG_FILE:-/etc/pip.conf}")
before="$(cd "$H" && find . | sort)"
t0=$(date +%s); "${E[@]}" bash "$REPO/installers/install.sh" --prefix "$P" --python "$PY" > "$WORK/install.log" 2>&1
t1=$(date +%s)
"${E[@]}" "$P/bin/tessera" doctor --json > "$WORK/doctor.json" || true
doctor_ok="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["ok"], d["counts"])' "$WORK/doctor.json")"
if command -v xvfb-run >/dev/null 2>&1; then  # a real X server: Qt's X11 plugin and its system libraries
  display=xvfb; "${E[@]}" timeout 60 xvfb-run -a -s "-screen 0 1600x1000x24" "$P/bin/tessera-studio" > "$WORK/studio.log" 2>&1 &
else
  display=offscreen; "${E[@]}" QT_QPA_PLATFORM=offscreen timeout 60 "$P/bin/tessera-studio" > "$WORK/studio.log" 2>&1 &
fi
studio=$!
opened=no
for _ in $(seq 60); do
  if grep -qs "started; library at" "$H"/.local/state/Tessera/log/*.log 2>/dev/null; then opened=yes; break; fi; sleep 1
done
kill "$studio" 2>/dev/null || true; wait "$studio" 2>/dev/null || true
"${E[@]}" "$P/bin/tessera" generate --style checks --count 1 --out "$WORK/tiles" > /dev/null
"${E[@]}" "$P/bin/tessera" library import "$WORK/tiles" > /dev/null
t2=$(date +%s); "${E[@]}" "$P/bin/tessera-update" > "$WORK/update.log" 2>&1; t3=$(date +%s)
patterns="$("${E[@]}" "$P/bin/tessera" library list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["patterns"]))')"
"${E[@]}" "$P/bin/tessera-uninstall" --yes > "$WORK/uninstall.log"
after="$(cd "$H" && find . | sort)"
left="$(comm -13 <(echo "$before") <(echo "$after") | grep -vE '^\./\.(local(/share|/state)?|cache|config)$' \
        | grep -vE '^\./\.(local/share|local/state|cache|config)/Tessera(/|$)' || true)"
[ -e "$P" ] && prefix_left=yes || prefix_left=no
printf '{"install_s": %d, "update_s": %d, "doctor": "%s", "window_opened": "%s (%s)", "patterns_after_update": %s, "prefix_left": "%s", "left_in_home": "%s"}\n' \
  $((t1 - t0)) $((t3 - t2)) "$doctor_ok" "$opened" "$display" "$patterns" "$prefix_left" "$(echo "$left" | tr '\n' ' ')"
