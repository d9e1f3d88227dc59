#!/usr/bin/env bash
# Makes sure the `directfuse` command is built from the sources as they are now, and prints its path:
#
#   scripts/build-cli.sh          the shipped build, a Native AOT binary: src/DirectFuse.Cli/bin/aot/directfuse
#   scripts/build-cli.sh --jit    the JIT build, run with `dotnet`: src/DirectFuse.Cli/bin/Release/net10.0/directfuse.dll
#
# Builds only when the sources changed since the last build (a hash of src/ and the root build settings,
# committed or not), so ./directfuse, the tests (Infrastructure/CliProcess.cs) and bench/run can call it every
# time. The AOT publish takes about a minute and needs clang and zlib1g-dev: installed here when missing if
# run as root (scripts/install-deps.sh); otherwise it exits with status 3, which ./directfuse answers by
# running the JIT build.
# Concurrent callers wait for one build. Progress and errors go to stderr; stdout carries only the path.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
jit=0
case "${1:-}" in
  --jit) jit=1 ;;
  "") ;;
  *) echo "usage: scripts/build-cli.sh [--jit]" >&2; exit 2 ;;
esac

if [ $jit -eq 1 ]; then
  out="$repo/src/DirectFuse.Cli/bin/Release"
  result="$out/net10.0/directfuse.dll"
  stamp="$out/.built-from"
else
  out="$repo/src/DirectFuse.Cli/bin/aot"
  result="$out/directfuse"
  stamp="$out/.published-from"
fi

# What the command is made of: every source file under src/ (build outputs aside) and the build settings at
# the root. Hashing the files themselves, not asking git, also sees uncommitted and untracked changes and
# works in a tarball.
revision() {
  local p paths=()
  cd "$repo"
  for p in src Directory.Build.props Directory.Build.targets Directory.Packages.props global.json NuGet.config nuget.config; do
    [ -e "$p" ] && paths+=("$p")
  done
  find "${paths[@]}" \( -name bin -o -name obj \) -prune -o -type f -print0 \
    | LC_ALL=C sort -z | xargs -0 sha1sum | sha1sum | cut -c1-40
}

# The native toolchain the AOT publish links with.
toolchain_missing() {
  command -v clang >/dev/null || return 0
  if command -v dpkg-query >/dev/null; then
    dpkg-query -W -f='${Status}' zlib1g-dev 2>/dev/null | grep -q "install ok installed" || return 0
  fi
  return 1
}

current() { [ -f "$result" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$rev" ]; }

rev="$(revision)"
if current; then echo "$result"; exit 0; fi

mkdir -p "$out"
exec 9>"$out/.build-lock"
flock 9
# Another caller may have built it while this one waited.
if current; then echo "$result"; exit 0; fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if [ $jit -eq 1 ]; then
  if ! dotnet build "$repo/src/DirectFuse.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly >"$log" 2>&1; then
    cat "$log" >&2
    echo "directfuse: building the JIT directfuse failed (above)" >&2
    exit 1
  fi
else
  if toolchain_missing; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      bash "$repo/scripts/install-deps.sh" clang zlib1g-dev >&2
    else
      echo "directfuse: the Native AOT build needs clang and zlib1g-dev: sudo scripts/install-deps.sh" \
        "(or sudo apt-get install clang zlib1g-dev)" >&2
      exit 3
    fi
  fi
  echo "directfuse: publishing the Native AOT binary (about a minute; again only when the sources change)" >&2
  if ! dotnet publish "$repo/src/DirectFuse.Cli" -c Release -o "$out" -nologo -v quiet -clp:ErrorsOnly >"$log" 2>&1; then
    cat "$log" >&2
    echo "directfuse: the Native AOT publish failed (above); is zlib1g-dev installed (scripts/install-deps.sh)?" \
      "DIRECTFUSE_JIT=1 ./directfuse runs the JIT build instead" >&2
    exit 1
  fi
fi
echo "$rev" > "$stamp"
echo "$result"
