#!/usr/bin/env bash
# kernel-matrix.sh: runs the test suite (or a part of it) on several Linux kernels and totals the results.
#
#   scripts/kernel-matrix.sh [--filter EXPR] [--no-build] [KERNEL...]
#
# KERNEL is `host` (this machine's running kernel), a Debian kernel image package name, or one of the
# shorthands 6.1 (Debian 12's kernel), 6.12 (bookworm-backports) and 5.10 (Debian 11). Default: host 6.1 6.12.
# Each kernel other than the host's boots under qemu (scripts/kernel-vm.sh: the host's files shared read-only,
# TCG where the CPU has no virtualisation) and runs the tests built here. --filter takes a dotnet test filter
# (default: the whole suite); under emulation tests marked Timing=RealTime (paced by real-time playback between
# two system calls) are left out, as an emulated client is too slow for them. Prints one
# "KERNEL: N passed, N failed, N skipped" line per kernel and, last, the total as "N passed, N failed, N skipped".
# Exit status 0 only if every kernel ran and nothing failed.
# Needs root, and (installed on first use) qemu-system-x86 busybox-static cpio binutils xz-utils e2fsprogs.
# Environment: KVM_TIMEOUT per kernel in seconds (default 2400 with --filter, 5400 for the whole suite), MATRIX_OUT (results, default a temp dir).
set -uo pipefail
cd "$(dirname "$0")/.."

filter="" build=1 kernels=()
while [ $# -gt 0 ]; do
  case $1 in
    --filter) filter=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) kernels+=("$1"); shift ;;
  esac
done
[ ${#kernels[@]} -eq 0 ] && kernels=(host 6.1 6.12)
out=${MATRIX_OUT:-$(mktemp -d /tmp/kernel-matrix.XXXXXX)}
mkdir -p "$out"

need=()
for p in qemu-system-x86 busybox-static cpio binutils xz-utils e2fsprogs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "kernel-matrix: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || exit 1
fi

# The newest package of a kernel series in the given suite's package lists (apt-cache for this machine's own).
resolve() {
  case $1 in
    6.1) apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6\.1\.[0-9.-]*-amd64\)$/\1-unsigned/p' | head -1 ;;
    # The generic flavour: not -rt-amd64 or -cloud-amd64, which sort after it.
    6.12) KVM_SUITE=bookworm-backports latest_in_suite 'linux-image-6\.12\.[0-9.]+\+deb[0-9]+(u[0-9]+)?-amd64-unsigned' ;;
    5.10) KVM_SUITE=bullseye latest_in_suite 'linux-image-5\.10\.0-[0-9]+-amd64-unsigned' ;;
    *) echo "$1" ;;
  esac
}

# The Debian suite a shorthand's package comes from when this machine's own suites lack it (scripts/kernel-vm.sh).
suite_of() {
  case $1 in
    5.10) echo bullseye ;;
    *) echo "${KVM_SUITE:-bookworm-backports}" ;;
  esac
}

# Package names of another suite, through a private package list (as scripts/kernel-vm.sh fetches them).
latest_in_suite() {
  local a=/var/tmp/kernel-vm/apt-$KVM_SUITE mirror
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  [ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $KVM_SUITE main" > "$a/sources.list"
  local o=(-o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache")
  apt-get "${o[@]}" update -qq >&2 2>/dev/null || true
  apt-cache "${o[@]}" pkgnames linux-image- 2>/dev/null | grep -E "^$1\$" | sort -V | tail -1
}

if [ $build -eq 1 ]; then
  dotnet build DirectFuse.slnx -c Release -nologo -v quiet -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
  # The CLI tests run the Native AOT directfuse: published here, not under emulation (scripts/test.sh does the
  # same before calling this with --no-build). Without it they run the JIT build.
  bash scripts/build-cli.sh >/dev/null || { echo "kernel-matrix: the Native AOT publish failed; the tests run the JIT build" >&2; export DIRECTFUSE_TEST_CLI=jit; }
fi

# One dotnet test per part, each with its own results file, so that an emulated run that reaches its time limit
# still reports the parts it finished. The whole suite comes in three parts of similar length under emulation.
if [ -n "$filter" ]; then
  parts=("$filter")
else
  # Engine and APIs; examples and security; the rest (CLI, CUSE, devices, direct mmap and anything new).
  first=(Protocol LowLevel PathApi Session Bench) second=(Examples Security) part=() rest=()
  for n in "${first[@]}"; do part+=("FullyQualifiedName~DirectFuse.Tests.$n."); rest+=("FullyQualifiedName!~DirectFuse.Tests.$n."); done
  parts=("$(IFS='|'; echo "${part[*]}")"); part=()
  for n in "${second[@]}"; do part+=("FullyQualifiedName~DirectFuse.Tests.$n."); rest+=("FullyQualifiedName!~DirectFuse.Tests.$n."); done
  parts+=("$(IFS='|'; echo "${part[*]}")" "$(IFS='&'; echo "${rest[*]}")")
fi
# The test commands; under emulation without the tests paced by real-time playback between two system calls
# (Timing=RealTime): an emulated client is too slow for them, so they run on the host only (kernel-facts).
commands() {
  local i cmd=""
  for i in "${!parts[@]}"; do
    cmd+="dotnet test tests/DirectFuse.Tests -c Release --no-build -nologo --logger \"trx;LogFileName=part$i.trx\" --logger \"console;verbosity=minimal\" --results-directory \"\$OUT/results\" --filter \"(${parts[$i]})$1\"; "
  done
  echo "$cmd"
}
test_cmd=$(commands "")
emulated_cmd=$(commands "&Timing!=RealTime")

# Counters of trx files, summed: passed, failed, skipped (total - executed).
count() {
  local counters get trx p=0 f=0 s=0
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  for trx in "$@"; do
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    p=$((p + $(get passed))); f=$((f + $(get failed))); s=$((s + $(get total) - $(get executed)))
  done
  echo "$p $f $s"
}

# The whole suite under emulation takes 30-60 minutes, a filtered part less.
timeout=2400; [ -z "$filter" ] && timeout=5400
tp=0 tf=0 ts=0 status=0
for k in "${kernels[@]}"; do
  kdir=$out/$k; mkdir -p "$kdir"
  if [ "$k" = host ]; then
    label="host $(uname -r)"
    OUT=$kdir bash -c "$test_cmd" > "$kdir/output.log" 2>&1
    trx=("$kdir"/results/*.trx)
  else
    pkg=$(resolve "$k")
    if [ -z "$pkg" ]; then echo "$k: no such kernel package in reach (skipped)"; status=1; continue; fi
    label="$k ($pkg)"
    # Emulation is 15-60 times slower than the host: the tests stretch their waits (Infrastructure/Patience.cs).
    # The guest gets no environment of ours but what is written here: the patience, and which directfuse to run.
    KVM_SUITE=$(suite_of "$k") KVM_OUT=$kdir KVM_TIMEOUT=${KVM_TIMEOUT:-$timeout} bash scripts/kernel-vm.sh "$pkg" "export DIRECTFUSE_TEST_PATIENCE=${DIRECTFUSE_TEST_PATIENCE:-10} DIRECTFUSE_TEST_CLI=${DIRECTFUSE_TEST_CLI:-}; $emulated_cmd" > "$kdir/console.log" 2>&1
    trx=("$kdir"/out/results/*.trx)
  fi
  if [ ! -e "${trx[0]}" ]; then
    echo "$label: no results (see $kdir)"; status=1; tf=$((tf + 1)); continue
  fi
  read -r p f s <<< "$(count "${trx[@]}")"
  missing=$(( ${#parts[@]} - ${#trx[@]} ))
  echo "$label: $p passed, $f failed, $s skipped$([ $missing -gt 0 ] && echo ", $missing of ${#parts[@]} parts without results (time limit?)")"
  grep -ho '<UnitTestResult [^>]*outcome="Failed"' "${trx[@]}" | sed -n 's/.*testName="\([^"]*\)".*/    failed: \1/p'
  tp=$((tp + p)); tf=$((tf + f + (missing > 0 ? 1 : 0))); ts=$((ts + s))
  [ "$f" -eq 0 ] && [ $missing -le 0 ] || status=1
done
echo "results in $out"
echo "$tp passed, $tf failed, $ts skipped"
[ $status -eq 0 ] && [ $tf -eq 0 ]
