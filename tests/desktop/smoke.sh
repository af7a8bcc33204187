#!/usr/bin/env bash
# The real desktop app on a virtual display: it starts the core (the
# listening line, /healthz, the demo sellers over /api) and opens its
# "TokenBuddy" window; it is then stopped. Usage: smoke.sh PATH-TO-BINARY
set -uo pipefail
bin="${1:?usage: smoke.sh path/to/tokenbuddy-desktop}"
work=$(mktemp -d)
log="$work/app.log"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "desktop smoke: $*" >&2
  echo "--- app output ---" >&2
  cat "$log" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# A free display number, then our own X server on it.
display=99
while [[ -e /tmp/.X11-unix/X$display || -e /tmp/.X$display-lock ]]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -e /tmp/.X11-unix/X$display ]] && break; sleep 0.1; done
export DISPLAY=":$display"

TOKENBUDDY_DATA_DIR="$work/data" TOKENBUDDY_PORT=0 TOKENBUDDY_DEMO=1 "$bin" >"$log" 2>&1 &
app=$!
pids+=($app)

port=""
for _ in $(seq 600); do
  port=$(sed -n 's#^TokenBuddy listening on http://127.0.0.1:\([0-9]*\)$#\1#p' "$log" | head -n 1)
  [[ -n "$port" ]] && break
  kill -0 "$app" 2>/dev/null || fail "the app exited before listening"
  sleep 0.1
done
[[ -n "$port" ]] || fail "no listening line within 60 s"

curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz did not answer"
token=$(cat "$work/data/token") || fail "no token file"
sellers=$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/sellers") || fail "/api/sellers failed"
[[ $(grep -o '"id":"demo-' <<<"$sellers" | wc -l) -eq 3 ]] || fail "expected 3 demo sellers, got: $sellers"
# Poll: windows come and go while GTK starts, and xdotool's --sync trips on that.
window=""
for _ in $(seq 300); do
  window=$(xdotool search --onlyvisible --name '^TokenBuddy$' 2>/dev/null | head -n 1)
  [[ -n "$window" ]] && break
  sleep 0.1
done
[[ -n "$window" ]] || fail "no visible TokenBuddy window within 30 s"

kill -TERM "$app"
wait "$app" 2>/dev/null
echo "1 passed, 0 failed"
