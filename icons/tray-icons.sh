#!/usr/bin/env bash
# Draws the tray icon's four looks from 32x32.png with imagemagick: a dot in
# the corner (serving green, paused grey on a grey icon, degraded amber,
# error red). Run from anywhere; the shell embeds the results.
set -euo pipefail
cd "$(dirname "$0")"
dot() { convert "$1" -fill "$2" -stroke white -strokewidth 2 -draw "circle 24,24 24,17" -strip "$3"; }
dot 32x32.png '#22c55e' tray-serving.png
dot 32x32.png '#f59e0b' tray-degraded.png
dot 32x32.png '#ef4444' tray-error.png
convert 32x32.png -colorspace Gray -define png:color-type=6 /tmp/tray-grey.png
dot /tmp/tray-grey.png '#9ca3af' tray-paused.png
