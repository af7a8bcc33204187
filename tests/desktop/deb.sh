#!/usr/bin/env bash
# The .deb as a user gets it: built by `scripts/package --debug` (or given as
# the argument), its metadata and contents checked (Depends names the tray
# library, the desktop entry points at a packaged binary and icon), then
# unpacked with `dpkg -x` into a temporary root and run from a directory with
# no source tree: the packaged CLI serves the embedded control panel (its page
# and an asset), and the packaged desktop app, on a virtual display, prints
# its listening line and answers /healthz and the panel page.
# Usage: deb.sh [PATH-TO-DEB]
set -uo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
shown_log=""
fail() {
  echo "deb test: $*" >&2
  if [[ -n "$shown_log" && -f "$shown_log" ]]; then
    echo "--- $(basename "$shown_log") ---" >&2
    cat "$shown_log" >&2
  fi
  echo "0 passed, 1 failed"
  exit 1
}

# Waits (60 s at most) for "TokenBuddy listening on http://127.0.0.1:PORT" in
# the log of process $2 and prints PORT.
listening_port() {
  local log=$1 pid=$2 port=""
  for _ in $(seq 600); do
    port=$(sed -n 's#^TokenBuddy listening on http://127.0.0.1:\([0-9]*\)$#\1#p' "$log" | head -n 1)
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Fetches the panel page from PORT and one asset it links to; fails unless
# both are the built panel (not the "UI not built" placeholder).
check_panel() {
  local who=$1 port=$2 page asset type
  page=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/") || fail "$who: GET / failed"
  grep -qi '<!doctype html' <<<"$page" || fail "$who: GET / is not HTML: ${page:0:200}"
  grep -q 'no control panel' <<<"$page" && fail "$who: the package serves the 'UI not built' placeholder"
  asset=/$(grep -Eo '"/?assets/[A-Za-z0-9._-]+\.js"' <<<"$page" | head -n 1 | tr -d '"' | sed 's#^/##')
  [[ $asset != / ]] || fail "$who: the page links no /assets/*.js: ${page:0:300}"
  type=$(curl -fsS --max-time 10 -o "$work/asset" -w '%{content_type}' "http://127.0.0.1:$port$asset") \
    || fail "$who: GET $asset failed"
  [[ -s "$work/asset" ]] || fail "$who: $asset is empty"
  [[ $type == *javascript* ]] || fail "$who: $asset came as '$type'"
}

deb="${1:-}"
if [[ -z "$deb" ]]; then
  deb=$("$here/scripts/package" --debug | grep '\.deb$' | tail -n 1) || fail "scripts/package --debug failed"
fi
[[ -f "$deb" ]] || fail "no .deb at '$deb'"

# Metadata and contents.
dpkg-deb -I "$deb" >/dev/null || fail "dpkg-deb -I cannot read $deb"
depends=$(dpkg-deb -f "$deb" Depends)
grep -Eq '(^|, )libayatana-appindicator3-1($|[ ,])' <<<"$depends" \
  || fail "Depends lacks libayatana-appindicator3-1 (the tray icon panics without it): $depends"
contents=$(dpkg-deb -c "$deb") || fail "dpkg-deb -c cannot list $deb"
for f in usr/bin/tokenbuddy usr/bin/tokenbuddy-desktop; do
  grep -Eq "^-rwxr-xr-x .* (\./)?$f\$" <<<"$contents" || fail "$f is not in the package as an executable"$'\n'"$contents"
done

root="$work/root"
dpkg -x "$deb" "$root" || fail "dpkg -x failed"
entries=("$root"/usr/share/applications/*.desktop)
[[ -f "${entries[0]}" ]] || fail "no desktop entry under /usr/share/applications"
entry="${entries[0]}"
exec_name=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$entry" | head -n 1)
icon_name=$(sed -n 's/^Icon=//p' "$entry" | head -n 1)
[[ -x "$root/usr/bin/$exec_name" ]] || fail "the desktop entry runs '$exec_name', not in /usr/bin"$'\n'"$(cat "$entry")"
icons=("$root"/usr/share/icons/hicolor/*/apps/"$icon_name".png)
[[ -f "${icons[0]}" ]] || fail "no hicolor icon named '$icon_name' (the desktop entry's Icon)"

# From here on nothing may come from the source tree.
unset TOKENBUDDY_UI_DIR
mkdir -p "$work/elsewhere"
cd "$work/elsewhere" || fail "cannot enter $work/elsewhere"

# The packaged CLI.
cli_log="$work/cli.log"
TOKENBUDDY_DATA_DIR="$work/cli-data" "$root/usr/bin/tokenbuddy" serve --demo --demo-load off --port 0 >"$cli_log" 2>&1 &
cli=$!
pids+=("$cli")
shown_log=$cli_log
port=$(listening_port "$cli_log" "$cli") || fail "the packaged CLI did not print its listening line within 60 s"
check_panel "the packaged CLI" "$port"
kill -TERM "$cli"
wait "$cli" 2>/dev/null

# The packaged desktop app on our own X server (as tests/desktop/smoke.sh:
# the app is then ours to stop by its pid).
display=99
while [[ -e /tmp/.X11-unix/X$display || -e /tmp/.X$display-lock ]]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -e /tmp/.X11-unix/X$display ]] && break; sleep 0.1; done
[[ -e /tmp/.X11-unix/X$display ]] || fail "Xvfb did not start on :$display"

app_log="$work/app.log"
DISPLAY=":$display" TOKENBUDDY_DATA_DIR="$work/app-data" TOKENBUDDY_PORT=0 "$root/usr/bin/$exec_name" >"$app_log" 2>&1 &
app=$!
pids+=("$app")
shown_log=$app_log
port=$(listening_port "$app_log" "$app") || fail "the packaged app did not print its listening line within 60 s"
health=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/healthz") || fail "the packaged app's /healthz did not answer"
check_panel "the packaged app" "$port"
kill -TERM "$app"
wait "$app" 2>/dev/null

size=$(stat -c %s "$deb")
echo "deb: $deb ($((size / 1024)) KiB), /healthz: $health"
echo "1 passed, 0 failed"
