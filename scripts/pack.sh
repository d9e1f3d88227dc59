#!/usr/bin/env bash
# Packs every package the repository makes (DirectFuse, DirectFuse.Hosting, DirectFuse.Tool, and any other packable
# project under src/) with their symbol packages into one directory, and prints its path:
#
#   scripts/pack.sh [--version X.Y.Z[-suffix]] [--output DIR]     default output: artifacts/packages
#
# The version is --version, else that of a `vX.Y.Z` tag on HEAD (a release), else VersionPrefix in
# Directory.Build.props. Progress and errors go to stderr; stdout carries only the path.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
version=""
out="$repo/artifacts/packages"
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:?--version needs a value}"; shift 2 ;;
    --output) out="$(realpath -m "${2:?--output needs a value}")"; shift 2 ;;
    *) echo "usage: scripts/pack.sh [--version X.Y.Z] [--output DIR]" >&2; exit 2 ;;
  esac
done
if [ -z "$version" ] && tag="$(git -C "$repo" describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null)"; then
  version="${tag#v}"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Built under artifacts/, so that the Release builds of src/ (which the tests and build-cli.sh use) keep their version.
args=(pack "$repo/DirectFuse.slnx" -c Release -nologo -v quiet -clp:ErrorsOnly --artifacts-path "$repo/artifacts" "-p:PackageOutputPath=$out")
[ -n "$version" ] && args+=("-p:Version=$version")
echo "directfuse: packing ${version:-the version in Directory.Build.props} into $out" >&2
dotnet "${args[@]}" >&2
echo "$out"
