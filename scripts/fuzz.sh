#!/usr/bin/env bash
# Fuzzes the protocol layer: generated and mutated requests through the real dispatcher serving memfs, a
# character device over FUSE and the device over CUSE (tests/DirectFuse.Fuzz). Prints progress, and on a
# finding its seed, round and request bytes, and writes the round's requests to fuzz-failures/ for --replay.
#   scripts/fuzz.sh [--seconds N] [--seed S] [--requests N] [--out DIR]   (default: 60 s, a random seed)
#   scripts/fuzz.sh --replay fuzz-failures/fuzz-failure-seedS-roundR.txt
# Exit code 1 on a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tests/DirectFuse.Fuzz -c Release -nologo -v quiet -clp:ErrorsOnly >&2
exec dotnet tests/DirectFuse.Fuzz/bin/Release/net10.0/DirectFuse.Fuzz.dll "$@"
