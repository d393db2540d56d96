#!/usr/bin/env bash
# Builds promtool-check-metrics (main.go): `promtool check metrics`, Prometheus' lint of a
# scrape, from the client_golang module promtool links, so tests lint real scrapes.
#
#   tools/promtool/install.sh   -> last line of stdout is the path of the promtool-check-metrics binary
#
# Built and cached by tools/go-program/build.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec bash "$HERE/../go-program/build.sh" "$HERE" promtool-check-metrics
