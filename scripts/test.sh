#!/usr/bin/env bash
# Runs the whole DirectFuse test suite: installs the system packages it needs, builds, runs the unit tests
# (protocol layer against a fake kernel) and the integration tests (real mounts, real client programs).
# Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1
if [ ! -e /dev/fuse ]; then modprobe fuse 2>/dev/null || true; fi

results=$(mktemp -d)
# The fuse module's enable_uring, as it was before anything here ran: the io_uring pass below, the benchmark's own
# test and the tests that switch it each restore what they found, but they overlap, so the end of the run puts
# back this value, whatever they left.
uring_param=/sys/module/fuse/parameters/enable_uring
uring_before=$(cat "$uring_param" 2>/dev/null || true)
restore_uring() { if [ -n "$uring_before" ] && [ -w "$uring_param" ]; then echo "$uring_before" > "$uring_param"; fi; }
trap 'restore_uring; rm -rf "$results"' EXIT
fuse_mounts() { grep -E ' fuse(\.[^ ]*)? ' /proc/mounts | awk '{print $2}' | sort; }
fuse_mounts > "$results/mounts-before"

dotnet build DirectFuse.slnx -c Release -nologo -v quiet -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
# The tests run the shipped directfuse, the Native AOT binary (Infrastructure/CliProcess.cs): publish it here,
# outside every test's time limit (about a minute; nothing when the sources have not changed). If that fails
# it counts as a failure, and the tests run on the JIT build so that the rest of the results still come.
if ! bash scripts/build-cli.sh >/dev/null; then
  echo "The Native AOT publish of directfuse failed (above): counted as a failure; the tests run the JIT build."
  aot_failed=1
  export DIRECTFUSE_TEST_CLI=jit
fi
dotnet test tests/DirectFuse.Tests -c Release --no-build -nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@"
status=$?
# The testing kit's sample is a test project of its own (no mount, any user); its results count in the totals.
# Arguments narrow the run to the main suite's tests, so it runs only without them.
if [ $# -eq 0 ]; then
  dotnet test samples/DirectFuse.Testing.Sample -c Release --no-build -nologo \
    --logger "trx;LogFileName=sample.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" || status=1
fi

# Where the kernel has FUSE over io_uring, the real-mount tests run a second time over it
# (DIRECTFUSE_TEST_TRANSPORT=io_uring makes TempMount and the CLI helpers ask for it). The protocol unit tests, the
# testing kit's, the layering and packaging tests and the benchmark's own test do not mount through the session and
# are left out. Every other test runs over io_uring too, except InheritedDeviceFdTests: they serve a /dev/fuse the
# test mounted itself, which is always served over the device (the session reports that fallback), so they run in
# the first pass only. enable_uring is turned on for this pass and always put back as it was.
if [ -w "$uring_param" ] && [ "${DIRECTFUSE_SKIP_URING:-}" != 1 ]; then
  echo Y > "$uring_param"
  DIRECTFUSE_TEST_TRANSPORT=io_uring dotnet test tests/DirectFuse.Tests -c Release --no-build -nologo \
    --filter "Category!=Packaging&FullyQualifiedName!~DirectFuse.Tests.Architecture&FullyQualifiedName!~DirectFuse.Tests.Protocol&FullyQualifiedName!~DirectFuse.Tests.Testing&FullyQualifiedName!~DirectFuse.Tests.Bench&FullyQualifiedName!~InheritedDeviceFdTests" \
    --logger "trx;LogFileName=io_uring.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" "$@" || status=1
  restore_uring
fi

# CI (or DIRECTFUSE_KERNEL_MATRIX=1) also runs the CUSE, device, direct-mmap and session tests on Debian 12's own
# kernel, 6.1, under qemu: this machine's kernel has no CUSE, and 6.1 has neither passthrough nor direct-I/O mmap,
# so every fallback runs for real. Tests paced by real-time playback between two system calls (Timing=RealTime;
# kernel-matrix.sh leaves them out under emulation) and tests of nothing the kernel does (Kernel=Independent)
# run on the host only: emulation is too slow for the first and adds nothing to the second. The whole matrix (every test, several kernels) is
# scripts/kernel-matrix.sh; see the README.
if [ "${CI:-}" = true ] || [ "${DIRECTFUSE_KERNEL_MATRIX:-}" = 1 ]; then
  subset="FullyQualifiedName~DirectFuse.Tests.Cuse|FullyQualifiedName~DirectFuse.Tests.Devices"
  subset+="|FullyQualifiedName~DirectFuse.Tests.DirectMmap|FullyQualifiedName~DirectFuse.Tests.Session"
  MATRIX_OUT="$results/matrix" bash scripts/kernel-matrix.sh --no-build \
    --filter "($subset)&Kernel!=Independent" 6.1 || status=1
  matrix_trx=0
  for trx in "$results"/matrix/*/out/results/*.trx; do
    [ -e "$trx" ] || continue
    cp "$trx" "$results/kernel-$(basename "$(dirname "$(dirname "$(dirname "$trx")")")")-$(basename "$trx")"
    matrix_trx=1
  done
  [ $matrix_trx -eq 1 ] || { echo "The kernel matrix produced no results."; matrix_missing=1; }
fi

# Total over every result file (one per test project, and one per other kernel).
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done

# Nothing may be left mounted by the tests (mounts that were there before are not theirs).
fuse_mounts > "$results/mounts-after"
leftover=$(comm -13 "$results/mounts-before" "$results/mounts-after")
if [ -n "$leftover" ]; then
  echo "Left-over FUSE mounts after the tests:"; echo "$leftover"
  failed=$((failed + 1))
fi
[ "${matrix_missing:-0}" -eq 1 ] && failed=$((failed + 1))
[ "${aot_failed:-0}" -eq 1 ] && failed=$((failed + 1))
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "No test ran."; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
