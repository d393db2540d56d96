#!/usr/bin/env bash
# Builds health-lua (main.go): runs the StreamingJob health check shipped for Argo CD under
# gopher-lua, the Lua 5.1 interpreter Argo CD embeds, so tests exercise the real dialect.
#
#   tools/lua/install.sh   -> last line of stdout is the path of the health-lua binary
#
# Built and cached by tools/go-program/build.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec bash "$HERE/../go-program/build.sh" "$HERE" health-lua
