#!/usr/bin/env bash
# Builds kstatus (main.go): judges objects with kstatus (sigs.k8s.io/cli-utils), Flux's fork of
# it and Flux's CEL health-check evaluator, so tests see a StreamingJob as Flux does.
#
#   tools/kstatus/install.sh   -> last line of stdout is the path of the kstatus binary
#
# Built and cached by tools/go-program/build.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec bash "$HERE/../go-program/build.sh" "$HERE" kstatus
