#!/usr/bin/python3
"""DirectFuse benchmark driver; bench/run installs packages, builds the contenders, then runs this.

Mounts every contender over the same tmpfs source, runs the workloads several times, collects
medians with min-max spread, checks the issue's target ratios, and writes a table, JSON and markdown.
Standard library only (Debian's python3). Everything it mounts or starts is undone on exit, error,
Ctrl-C or SIGTERM.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

import peers
import startup

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, ".build")


# ---- process and mount bookkeeping --------------------------------------------------------------------------

class Cleanup:
    """Everything this run started or mounted, undone in reverse order."""

    def __init__(self, pidfile):
        self.procs = []
        self.mounts = []
        self.pidfile = pidfile

    def started(self, proc):
        self.procs.append(proc)
        with open(self.pidfile, "a") as f:
            f.write(f"{proc.pid}\n")

    def mounted(self, path):
        self.mounts.append(path)

    def unmount(self, path, proc=None, timeout=15):
        if is_mounted(path):
            r = subprocess.run(["umount", path], capture_output=True)
            if r.returncode != 0 and is_mounted(path):
                time.sleep(0.5)
                subprocess.run(["umount", "-l", path], capture_output=True)
        if path in self.mounts:
            self.mounts.remove(path)
        if proc is not None:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc in self.procs:
                self.procs.remove(proc)

    def all(self):
        for proc in list(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for path in reversed(list(self.mounts)):
            self.unmount(path)
        for proc in list(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def mounts_under(prefix):
    with open("/proc/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(prefix)]


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/mounts") as f:
        return any(line.split()[1] == path for line in f)


def wait_mounted(path, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if is_mounted(path):
            # A FUSE mount appears in /proc/mounts before INIT is answered: wait until the root answers.
            try:
                os.stat(path)
                return
            except OSError:
                pass
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode} before mounting {path}: {out[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"{path} was not mounted within {timeout}s")


def drop_caches():
    subprocess.run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")  # dentries and inodes: the next stat of a FUSE file is a LOOKUP again


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---- contenders ------------------------------------------------------------------------------------------------

class Contender:
    def __init__(self, name, description, command=None, env=None, uring=False):
        self.name = name
        self.description = description
        self.command = command  # None: the source directory itself (native)
        self.env = env or {}
        self.uring = uring  # needs enable_uring=Y while mounted


def wanted(args, part, name):
    """--only lists parts (libfuse, directfuse, ...) or single contenders by name."""
    return part in args.only_list or name in args.only_list


def directfuse_command(args):
    """The shipped Native AOT directfuse when bench/run passed it (--aot), else the JIT build."""
    return [args.aot] if args.aot else ["dotnet", os.path.join(BUILD, "cli", "directfuse.dll")]


def contenders(args, src):
    n = args.threads
    cli = directfuse_command(args)
    build = "Native AOT" if args.aot else "JIT"
    result = [Contender("native", "the tmpfs source directory itself (no FUSE): the limit")]
    if wanted(args, "libfuse", "libfuse"):
        result.append(Contender(
            "libfuse", f"libfuse 3.14 passthrough_ll, -o max_threads={n},max_idle_threads={n},clone_fd (multi-threaded loop, one /dev/fuse clone per worker)",
            lambda mnt: [os.path.join(BUILD, "passthrough_ll"), "-f", "-o", f"source={src},max_threads={n},max_idle_threads={n},clone_fd", mnt]))
    if wanted(args, "gofuse", "gofuse"):
        result.append(Contender(
            "gofuse", f"go-fuse 2.1 loopback example, GOMAXPROCS={n} (goroutine per request; at most {n} OS threads run Go code at once)",
            lambda mnt: [os.path.join(BUILD, "loopback"), "-q", mnt, src], {"GOMAXPROCS": str(n)}))
    if wanted(args, "directfuse", "directfuse"):
        result.append(Contender(
            "directfuse", f"DirectFuse loopback ({build} build), --threads {n} (one cloned /dev/fuse fd per worker thread), FUSE passthrough on, --no-xattr (as passthrough_ll without -o xattr)",
            lambda mnt: cli + ["mount", "loopback", src, mnt, "--threads", str(n), "--no-xattr"]))
    if wanted(args, "directfuse", "directfuse-nopt"):
        result.append(Contender(
            "directfuse-nopt", f"DirectFuse loopback ({build} build), --threads {n}, --no-passthrough (the server serves every read and write), --no-xattr",
            lambda mnt: cli + ["mount", "loopback", src, mnt, "--threads", str(n), "--no-passthrough", "--no-xattr"]))
    return result


def newest_peer_contenders(args, src):
    """libfuse >= 3.18 passthrough_hp and go-fuse >= 2.10 loopback, when bench/run built them from the source trees
    given with --libfuse-src / --gofuse-src (issue 14). All without passthrough: the server serves every read and
    write, as directfuse-nopt and directfuse-uring do."""
    n = args.threads
    result = []
    if args.libfuse318:
        v = args.libfuse318_version
        # passthrough_hp: --num-threads caps libfuse's multi-threaded loop (idle workers are kept by default),
        # --clone-fd gives each worker its own /dev/fuse fd; with -o io_uring, one ring queue per CPU serves the
        # requests and the /dev/fuse workers only what the ring does not carry (FORGET, INTERRUPT, notifications).
        hp = lambda extra: (lambda mnt: [args.libfuse318, "--foreground", "--nopassthrough", "--num-threads", str(n), "--clone-fd"] + extra + [src, mnt])
        if wanted(args, "libfuse318", "libfuse318-hp"):
            result.append(Contender(
                "libfuse318-hp", f"libfuse {v} passthrough_hp --nopassthrough --num-threads {n} --clone-fd (its own timeouts: 86 400 s, writeback cache, splice)",
                hp([])))
        if wanted(args, "libfuse318", "libfuse318-hp-uring"):
            if args.uring_ok:
                result.append(Contender(
                    "libfuse318-hp-uring", f"libfuse {v} passthrough_hp, the same with -o io_uring (one ring queue per CPU)",
                    hp(["-o", "io_uring"]), uring=True))
    if args.gofuse210 and wanted(args, "gofuse210", "gofuse210"):
        result.append(Contender(
            "gofuse210", f"go-fuse {args.gofuse210_version} loopback example with DisabledCapabilities = CAP_PASSTHROUGH (one line added by bench/run), GOMAXPROCS={n}",
            lambda mnt: [args.gofuse210, "-q", mnt, src], {"GOMAXPROCS": str(n)}))
    return result


# ---- FUSE over io_uring (issue 14) --------------------------------------------------------------------------------

def uring_contenders(args, src):
    """DirectFuse's loopback over FUSE-over-io_uring, without passthrough (so the ring carries every read and
    write): compared with directfuse-nopt and libfuse318-hp-uring. Only where the kernel has it and
    enable_uring can be set (peers.UringParameter)."""
    if not wanted(args, "directfuse", "directfuse-uring") or not args.uring_ok:
        return []
    n = args.threads
    cli = directfuse_command(args)
    build = "Native AOT" if args.aot else "JIT"
    return [Contender(
        "directfuse-uring", f"DirectFuse loopback ({build} build), --threads {n}, --no-passthrough, --no-xattr, -o io_uring (one ring queue per CPU; /dev/fuse workers keep FORGET and INTERRUPT)",
        lambda mnt: cli + ["mount", "loopback", src, mnt, "--threads", str(n), "--no-passthrough", "--no-xattr", "-o", "io_uring"],
        uring=True)]


class Mounted:
    """A contender mounted on its mount point (or the native source), undone by close()."""

    def __init__(self, contender, src, mnt_root, cleanup, uring, extra_args=(), capture=False):
        self.contender = contender
        self.cleanup = cleanup
        self.proc = None
        self.log = None
        self.uring = None
        if contender.command is None:
            self.path = src
            return
        if contender.uring:
            uring.enable()
            self.uring = uring
        try:
            self.start(contender, mnt_root, cleanup, extra_args, capture)
        except BaseException:
            self.close()
            raise

    def start(self, contender, mnt_root, cleanup, extra_args, capture):
        self.path = os.path.join(mnt_root, contender.name)
        os.makedirs(self.path, exist_ok=True)
        env = dict(os.environ, **contender.env)
        env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        cmd = contender.command(self.path) + list(extra_args)
        out = subprocess.DEVNULL
        if capture:
            # The server writes through its own open file description; we read through another.
            log_path = os.path.join(mnt_root, f"{contender.name}.log")
            out = open(log_path, "w")
            self.log = open(log_path, "r")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, text=True)
        if capture:
            out.close()
        cleanup.started(self.proc)
        cleanup.mounted(self.path)
        wait_mounted(self.path, self.proc)

    def cpu(self):
        return peers.CpuMeter(self.proc.pid).snapshot() if self.proc else None

    def ring(self):
        return peers.ring_tails(self.proc.pid) if self.proc else {}

    def close(self):
        try:
            if self.proc is not None:
                self.cleanup.unmount(self.path, self.proc)
            if self.log:
                self.log.close()
        finally:
            # enable_uring goes back only once the io_uring server is gone: the kernel checks it on every ring command.
            if self.uring is not None:
                self.uring.restore()
                self.uring = None


# ---- workloads -------------------------------------------------------------------------------------------------

def run_json(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-2000:]} {r.stdout[-2000:]}")
    return json.loads(r.stdout)


def metabench(*args):
    return run_json([os.path.join(BUILD, "metabench")] + [str(a) for a in args])


def fio(path, rw, bs, size, runtime=None, direct=1):
    cmd = ["fio", "--name=bench", f"--filename={path}", f"--rw={rw}", f"--bs={bs}", f"--size={size}",
           "--ioengine=psync", f"--direct={direct}", "--numjobs=1", "--output-format=json", "--invalidate=1"]
    if runtime:
        cmd += [f"--runtime={runtime}", "--time_based"]
    out = run_json(cmd)
    job = out["jobs"][0]
    side = job["read"] if "read" in rw else job["write"]
    if job.get("error"):
        raise RuntimeError(f"fio {rw} on {path}: error {job['error']}")
    return side


class Workload:
    """run(root) returns (value, client operations) or (value, operations, {row suffix: (value, unit)}): extra rows
    of the same pass, such as the per-operation round-trip percentiles."""

    def __init__(self, name, unit, run, description):
        self.name, self.unit, self.run, self.description = name, unit, run, description


def percentiles(r):
    return {"p50": (r["p50_us"], "µs"), "p99": (r["p99_us"], "µs")}


def workloads(args):
    p = args.params

    def stat(root):
        drop_caches()
        time.sleep(0.3)
        r = metabench("stat", os.path.join(root, "meta"), p["files"])
        return r["ops"] / r["seconds"] * 1e-3, r["ops"], percentiles(r)

    def create(root):
        r = metabench("create", os.path.join(root, "create"), p["creates"], 4096)
        return r["ops"] / r["seconds"] * 1e-3, r["ops"], percentiles(r)

    def neglookup(root):
        # Names unique to the metabench process: no negative dentry of an earlier pass answers them.
        r = metabench("negstat", os.path.join(root, "meta"), p["files"])
        return r["ops"] / r["seconds"] * 1e-3, r["ops"], percentiles(r)

    def listing(mode):
        def run(root):
            r = metabench(mode, os.path.join(root, "meta"), p["readdir_reps"])
            return r["ops"] / r["seconds"], r["ops"], percentiles(r)
        return run

    def seqread(root):
        s = fio(os.path.join(root, "data", "seq.dat"), "read", "1M", p["data_size"])
        return s["bw_bytes"] / 2**20, s["total_ios"]

    def seqwrite(root):
        s = fio(os.path.join(root, "data", "write.dat"), "write", "1M", p["data_size"])
        return s["bw_bytes"] / 2**20, s["total_ios"]

    def randread(root):
        s = fio(os.path.join(root, "data", "seq.dat"), "randread", "4k", p["data_size"], runtime=p["rand_runtime"])
        return s["iops"] / 1e3, s["total_ios"]

    return [
        Workload("stat", "kops/s", stat,
                 f"stat(2) of {p['files']} files, each name uncached (dentries dropped first): one LOOKUP each"),
        Workload("create", "kops/s", create,
                 f"open(O_CREAT)+write 4 KiB+close+unlink, {p['creates']} files"),
        Workload("readdir", "kentries/s", lambda r: scale(listing("readdir")(r), 1e-3),
                 f"getdents64 through a {p['files']}-entry directory, {p['readdir_reps']} times"),
        Workload("readdir-changing", "kentries/s", lambda r: scale(listing("readdir-changing")(r), 1e-3),
                 f"the same, but a file is created and removed in the directory before each listing, so no cache may answer it"),
        Workload("seqread", "MiB/s", seqread, f"fio read, 1 MiB blocks, psync, direct=1, {p['data_size']} file"),
        Workload("seqwrite", "MiB/s", seqwrite, f"fio write, 1 MiB blocks, psync, direct=1, {p['data_size']} file"),
        Workload("randread", "kIOPS", randread, f"fio randread, 4 KiB blocks, psync, direct=1, {p['rand_runtime']} s over {p['data_size']}"),
        Workload("neglookup", "kops/s", neglookup,
                 f"stat(2) of {p['files']} names that do not exist, each timed: one LOOKUP answered ENOENT"),
    ]


def scale(result, factor):
    """The rate of a workload's result times factor; operations and extra rows as they were."""
    return (result[0] * factor,) + tuple(result[1:])


def prepare_source(src, p):
    for d in ("meta", "create", "data"):
        os.makedirs(os.path.join(src, d), exist_ok=True)
    metabench("mkfiles", os.path.join(src, "meta"), p["files"], 0)
    for name in ("seq.dat", "write.dat"):
        path = os.path.join(src, "data", name)
        with open(path, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(parse_size(p["data_size"]) // (1 << 20)):
                f.write(chunk)


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


# ---- results ---------------------------------------------------------------------------------------------------

class Results:
    def __init__(self, threads):
        self.values = {}  # (workload, contender) -> [values]
        self.units = {}
        self.threads = threads
        self.order = []

    def add(self, workload, contender, value, unit):
        key = (workload, contender)
        if key not in self.values:
            self.values[key] = []
            self.order.append(key)
        self.values[key].append(value)
        self.units[key] = unit

    def median(self, workload, contender):
        v = self.values.get((workload, contender))
        return statistics.median(v) if v else None

    def records(self):
        out = []
        for key in self.order:
            v = self.values[key]
            out.append({"workload": key[0], "contender": key[1], "value": round(statistics.median(v), 4),
                        "unit": self.units[key], "runs": len(v), "min": round(min(v), 4), "max": round(max(v), 4),
                        "threads": self.threads})
        return out


def fmt(x):
    if x is None:
        return "-"
    if x == 0:
        return "0"
    a = abs(x)
    return f"{x:.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 0.1 else f"{x:.3g}"


def results_table(results, workload_names, contender_names):
    """Markdown: one row per workload, one column per contender, 'median (min–max)'."""
    present = [c for c in contender_names if any((w, c) in results.values for w in workload_names)]
    if not present:
        return ["(not measured in this run)"]
    lines = ["| workload | unit | " + " | ".join(present) + " |", "|---|---|" + "---|" * len(present)]
    for w in workload_names:
        cells = []
        unit = ""
        for c in present:
            v = results.values.get((w, c))
            if not v:
                cells.append("-")
                continue
            unit = results.units[(w, c)]
            cells.append(f"{fmt(statistics.median(v))} ({fmt(min(v))}–{fmt(max(v))})")
        if any(cell != "-" for cell in cells):
            lines.append(f"| {w} | {unit} | " + " | ".join(cells) + " |")
    return lines


def targets(results):
    """The issue's targets: (target, measured ratio or value, requirement, met)."""
    rows = []

    def compare(name, w, a, b, bound, lower_is_better):
        va, vb = results.median(w, a), results.median(w, b)
        need = f"{'≤' if lower_is_better else '≥'} {bound}×"
        if va is None or vb is None or vb == 0:
            rows.append((name, None, need, None))
            return
        r = va / vb
        rows.append((name, f"{r:.3f}× ({fmt(va)} / {fmt(vb)} {results.units[(w, a)]})", need,
                     r <= bound if lower_is_better else r >= bound))

    def ratio(name, w, a, b, need):
        compare(name, w, a, b, need, lower_is_better=False)

    def at_most(name, w, a, b, limit):
        """Lower is better (CPU, latency): a ≤ limit × b."""
        compare(name, w, a, b, limit, lower_is_better=True)

    first = results.values.get(("startup-first-answer", "directfuse-aot"))
    if first:
        med = statistics.median(first)
        rows.append(("start-up: exec to the first answered request, Native AOT", f"{fmt(med)} ms (max {fmt(max(first))})", "≤ 50 ms", med <= 50))
    else:
        rows.append(("start-up: exec to the first answered request, Native AOT", None, "≤ 50 ms", None))
    ratio("direct-mmap write bandwidth vs native memfd", "mmap-write-bw", "directfuse-fmmap", "native-memfd", 0.98)
    ratio("direct-mmap read bandwidth vs native memfd", "mmap-read-bw", "directfuse-fmmap", "native-memfd", 0.98)
    ratio("first-touch fault rate vs native memfd", "mmap-first-touch", "directfuse-fmmap", "native-memfd", 0.9)
    # readdir-changing is ours, stricter than the readdir: no kernel or server cache may answer it.
    for w in ("stat", "create", "readdir", "readdir-changing"):
        ratio(f"metadata {w} vs libfuse passthrough_ll", w, "directfuse", "libfuse", 1.25)
        ratio(f"metadata {w} vs go-fuse loopback", w, "directfuse", "gofuse", 1.0)
    for w in ("seqread", "seqwrite"):
        ratio(f"{w} without passthrough vs libfuse", w, "directfuse-nopt", "libfuse", 1.0)
        ratio(f"{w} with passthrough vs native", w, "directfuse", "native", 0.95)
    # Issue 14: against libfuse >= 3.18's passthrough_hp with io_uring, all without passthrough; DirectFuse with
    # and without io_uring. Rows only when that contender ran.
    if any(k[1] == "libfuse318-hp-uring" for k in results.values):
        for ours in ("directfuse-uring", "directfuse-nopt"):
            for w in ("stat", "create"):
                ratio(f"{w} ops/s, {ours} vs libfuse318-hp-uring", w, ours, "libfuse318-hp-uring", 1.25)
            at_most(f"server CPU per stat, {ours} vs libfuse318-hp-uring", "stat.server-cpu", ours, "libfuse318-hp-uring", 0.8)
            at_most(f"negative-LOOKUP p99, {ours} vs libfuse318-hp-uring", "neglookup.p99", ours, "libfuse318-hp-uring", 1.0)
            for w in ("seqwrite", "randread"):
                ratio(f"{w} without passthrough, {ours} vs libfuse318-hp-uring", w, ours, "libfuse318-hp-uring", 1.0)
    for op in ("LOOKUP", "GETATTR", "READ", "WRITE"):
        v = results.values.get((f"alloc-{op}", "directfuse-null"))
        if not v:
            rows.append((f"zero allocation per {op}", None, "0 B/request", None))
            continue
        # Whole-process allocation over 10^4-10^5 requests; a few stray bytes of runtime housekeeping are not per request.
        rows.append((f"zero allocation per {op}", f"{fmt(statistics.median(v))} B/request (max {fmt(max(v))})", "0 B/request", max(v) < 0.05))
    return rows


def machine(args):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
    fio_v = subprocess.run(["fio", "--version"], capture_output=True, text=True).stdout.strip()
    go_v = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "memory_gib": round(mem_kb / 2**20, 1),
        "dotnet": dotnet, "fio": fio_v, "go": go_v,
        "libfuse": subprocess.run(["pkg-config", "--modversion", "fuse3"], capture_output=True, text=True).stdout.strip(),
        "libfuse318": args.libfuse318_version if args.libfuse318 else None,
        "gofuse210": args.gofuse210_version if args.gofuse210 else None,
        "gofuse210_go": args.go_version if args.gofuse210 else None,
    }


# ---- main ------------------------------------------------------------------------------------------------------

QUICK = {"files": 2000, "creates": 1000, "readdir_reps": 5, "data_size": "64M", "rand_runtime": 1, "runs": 3,
         "fmmap_size": "64M", "sync_size": "16M", "mmap_reps": 3, "alloc_requests": 20000, "count_files": 500, "startup_runs": 3}
FULL = {"files": 10000, "creates": 10000, "readdir_reps": 20, "data_size": "1G", "rand_runtime": 5, "runs": 5,
        "fmmap_size": "512M", "sync_size": "128M", "mmap_reps": 5, "alloc_requests": 200000, "count_files": 2000, "startup_runs": 7}


def main():
    ap = argparse.ArgumentParser(description="DirectFuse benchmark (run through bench/run)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int)
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--scratch", default=os.path.join(BUILD, "run"))
    ap.add_argument("--aot", help="the Native AOT directfuse (bench/run passes scripts/build-cli.sh's); without it the directfuse contenders run the JIT build")
    ap.add_argument("--only", default="native,libfuse,gofuse,directfuse,libfuse318,gofuse210,startup,fmmap,alloc,counts",
                    help="comma-separated parts: native,libfuse,gofuse,directfuse,libfuse318,gofuse210,startup,fmmap,alloc,counts, "
                         "or single contenders by name (directfuse-nopt, directfuse-uring, libfuse318-hp-uring, ...)")
    ap.add_argument("--libfuse318", help="passthrough_hp of libfuse >= 3.18, built by bench/run from --libfuse-src")
    ap.add_argument("--libfuse318-version", default="3.18")
    ap.add_argument("--gofuse210", help="go-fuse >= 2.10's loopback example, built by bench/run from --gofuse-src")
    ap.add_argument("--gofuse210-version", default="2.10")
    ap.add_argument("--go-version", default="")
    args = ap.parse_args()
    args.params = dict(QUICK if args.quick else FULL)
    if args.runs:
        args.params["runs"] = args.runs
    args.only_list = args.only.split(",")
    p = args.params
    runs = p["runs"]
    mode = "quick" if args.quick else "full"
    default_base = os.path.join(HERE, "results", "quick" if args.quick else "latest")
    json_path = args.json or default_base + ".json"
    md_path = args.markdown or default_base + ".md"

    scratch = os.path.realpath(args.scratch)
    os.makedirs(scratch, exist_ok=True)
    cleanup = Cleanup(os.path.join(scratch, "pids"))

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    results = Results(args.threads)
    # enable_uring: Y only while an io_uring contender is mounted; bench/run's EXIT trap restores the saved value.
    uring = peers.UringParameter(os.path.join(scratch, "enable_uring.saved"))
    args.uring_ok = peers.UringParameter.available()
    args.uring_note = None if args.uring_ok else \
        f"- No io_uring contenders: {peers.ENABLE_URING} is missing or cannot be written (kernel without FUSE over io_uring, or not root)."
    notes = []
    counts = {}
    started = time.time()
    load_start = loadavg()
    src = os.path.join(scratch, "src")
    mnt_root = os.path.join(scratch, "mnt")
    try:
        os.makedirs(src, exist_ok=True)
        os.makedirs(mnt_root, exist_ok=True)
        size_bytes = parse_size(p["data_size"])
        tmpfs_size = 2 * size_bytes + (512 << 20)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_size},mode=0755", "bench-src", src], check=True)
        cleanup.mounted(src)
        print(f"bench: {mode} mode, {runs} runs, {args.threads} server threads, load average {load_start}", flush=True)
        # First, while nothing of ours has run yet: a few seconds, and the figure most sensitive to other load.
        if "startup" in args.only_list:
            startup.measure(results, cleanup, mnt_root, p["startup_runs"], args.aot, os.path.join(BUILD, "cli", "directfuse.dll"),
                            log=lambda line: print(line, flush=True))
        prepare_source(src, p)

        wl = workloads(args)
        cons = contenders(args, src) + uring_contenders(args, src) + newest_peer_contenders(args, src)
        if "native" not in args.only_list:
            cons = [c for c in cons if c.name != "native"]
        notes += ["", "## Contenders in this run", ""]
        for c in cons:
            print(f"bench: {c.name}: {c.description}", flush=True)
            notes.append(f"- `{c.name}`: {c.description}")
        if args.uring_note:
            notes.append(args.uring_note)
        ring = {}  # io_uring contender -> [completions seen, what its process looked like]
        # Round robin: every run visits every contender (on a fresh mount), so slow drift of the machine
        # spreads over all of them instead of landing in the ratios between contenders.
        for run in range(runs):
            for c in cons:
                m = Mounted(c, src, mnt_root, cleanup, uring)
                try:
                    for w in wl:
                        cpu0, ring0 = m.cpu(), m.ring()
                        value, ops, *extra = w.run(m.path)
                        cpu = peers.CpuMeter.seconds(cpu0, m.cpu()) if m.proc is not None else 0.0
                        results.add(w.name, c.name, value, w.unit)
                        for suffix, (v, unit) in (extra[0] if extra else {}).items():
                            results.add(f"{w.name}.{suffix}", c.name, v, unit)
                        if m.proc is not None and ops:
                            results.add(f"{w.name}.server-cpu", c.name, cpu / ops * 1e6, "us/op")
                        if c.uring and ops:
                            # Proof that the ring carries the requests: completions posted per client operation.
                            done = peers.ring_completions(ring0, m.ring())
                            results.add(f"{w.name}.ring-cqes", c.name, done / ops, "CQE/op")
                            seen = ring.setdefault(c.name, [0, peers.ring_summary(m.proc.pid)])
                            seen[0] += done
                        print(f"  {c.name:19} {w.name:16} run {run + 1}: {fmt(value)} {w.unit}", flush=True)
                finally:
                    m.close()
        for name, (done, summary) in ring.items():
            verdict = "requests went over io_uring" if done else "**FELL BACK to /dev/fuse: no ring completion seen**"
            notes.append(f"- `{name}`: {verdict} ({done} ring completions over all workloads and runs; its process: {summary}).")

        if "counts" in args.only_list and any(c.name.startswith("directfuse") for c in cons):
            counts = count_requests(args, src, mnt_root, cleanup, cons, uring)

        if "fmmap" in args.only_list:
            fmmap_mnt = os.path.join(mnt_root, "fmmap")
            os.makedirs(fmmap_mnt, exist_ok=True)
            cleanup.mounted(fmmap_mnt)
            run_bench_tool(results, cleanup, ["fmmap", fmmap_mnt, os.path.join(BUILD, "mmapbench"), "--size", p["fmmap_size"],
                                              "--sync-size", p["sync_size"], "--runs", str(runs), "--reps", str(p["mmap_reps"]),
                                              "--threads", str(args.threads)])
            cleanup.unmount(fmmap_mnt)

        if "alloc" in args.only_list:
            run_bench_tool(results, cleanup, ["alloc", "--requests", str(p["alloc_requests"]), "--runs", str(runs)])
    except KeyboardInterrupt as e:
        print(f"bench: interrupted ({e}); cleaning up", file=sys.stderr)
        cleanup.all()
        raise SystemExit(130)
    finally:
        cleanup.all()
        uring.restore_all()

    elapsed = time.time() - started
    report = write_reports(args, results, counts, notes, mode, elapsed, load_start, json_path, md_path)
    print(report)
    print(f"bench: wrote {json_path} and {md_path} ({elapsed:.0f} s)")


def run_bench_tool(results, cleanup, tool_args):
    cmd = ["dotnet", os.path.join(BUILD, "bench", "directfuse-bench.dll")] + tool_args
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    cleanup.started(proc)
    for line in proc.stdout:
        if line.startswith("RESULT "):
            _, workload, contender, value, unit = line.split()
            results.add(workload, contender, float(value), unit)
            if not workload.startswith("fakekernel-rtt"):
                print(f"  {contender:16} {workload:9}: {value} {unit}", flush=True)
        else:
            print("  " + line.rstrip(), flush=True)
    proc.wait()
    cleanup.procs.remove(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"directfuse-bench {tool_args[0]} failed with {proc.returncode}")


REQUEST_LINE = re.compile(r"unique=\d+ (\w+) nodeid=")


def count_requests(args, src, mnt_root, cleanup, cons, uring):
    """One pass of each metadata/data workload on DirectFuse with --debug: requests per client operation, by opcode."""
    p = dict(args.params, files=args.params["count_files"], creates=args.params["count_files"], readdir_reps=2, data_size="64M", rand_runtime=1)
    saved = args.params
    args.params = p
    counts = {}
    try:
        for c in cons:
            if not c.name.startswith("directfuse"):
                continue
            m = Mounted(c, src, mnt_root, cleanup, uring, extra_args=["--debug"], capture=True)
            try:
                for w in workloads(args):
                    time.sleep(0.5)  # earlier requests (FORGETs, releases) are logged before this workload starts
                    m.log.read()
                    _, ops, *_ = w.run(m.path)
                    time.sleep(0.5)  # let the last log lines arrive
                    by_op = {}
                    for line in m.log.read().splitlines():
                        mm = REQUEST_LINE.search(line)
                        if mm:
                            by_op[mm.group(1)] = by_op.get(mm.group(1), 0) + 1
                    counts[(c.name, w.name)] = (ops, by_op)
            finally:
                m.close()
    finally:
        args.params = saved
    return counts


def write_reports(args, results, counts, notes, mode, elapsed, load_start, json_path, md_path):
    mach = machine(args)
    load_end = loadavg()
    contender_order = ["native", "libfuse", "gofuse", "directfuse", "directfuse-nopt", "directfuse-uring", "libfuse318-hp", "libfuse318-hp-uring",
                       "gofuse210", "native-memfd", "directfuse-fmmap",
                       "directfuse-fmmap-pagecache", "raw-syscalls", "directfuse-null", "directfuse-loopback",
                       "directfuse-aot", "directfuse-jit", "directfuse-jit-notiered"]
    startup_w = ["startup-first-answer", "first-create", "startup-rss"]
    main_w = ["stat", "create", "readdir", "readdir-changing", "seqread", "seqwrite", "randread", "neglookup"]
    cpu_w = [f"{w}.server-cpu" for w in main_w]
    latency_w = [f"{w}.{q}" for w in ("stat", "create", "readdir", "readdir-changing", "neglookup") for q in ("p50", "p99")]
    ring_w = [f"{w}.ring-cqes" for w in main_w]
    mmap_w = ["mmap-write-bw", "mmap-read-bw", "mmap-first-touch", "pagecache-client-fill", "pagecache-retrieve", "pagecache-sync-store"]
    alloc_w = [f"alloc-{op}" for op in ("LOOKUP", "GETATTR", "READ", "WRITE")] + \
              [f"server-thread-cpu-{op}" for op in ("LOOKUP", "GETATTR", "READ", "WRITE")] + \
              [f"fakekernel-rtt-{op}" for op in ("LOOKUP", "GETATTR", "READ", "WRITE")]
    md = [f"# DirectFuse benchmark ({mode})", "",
          f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; {elapsed:.0f} s; median of {args.params['runs']} runs "
          f"(min–max in brackets); {args.threads} server threads per contender.", "",
          "## Machine", "",
          f"- CPU: {mach['cpu']}, {mach['nproc']} logical CPUs; memory {mach['memory_gib']} GiB; kernel {mach['kernel']}",
          f"- .NET SDK {mach['dotnet']}; {mach['go']}; libfuse {mach['libfuse']}; {mach['fio']}"
          + (f"; built from source: libfuse {mach['libfuse318']}" if mach["libfuse318"] else "")
          + (f"; go-fuse {mach['gofuse210']} ({mach['gofuse210_go']})" if mach["gofuse210"] else ""),
          f"- load average at start {load_start}, at end {load_end} (other work on the machine makes figures noisier)", "",
          "## Server start-up", "",
          "`directfuse mount memfs MNT` executed afresh each run: `startup-first-answer` is exec to the first answered "
          "stat(2) of the mount root, `first-create` the first open(O_CREAT) after it, `startup-rss` the server's VmRSS then. "
          f"`directfuse-aot` is the shipped Native AOT binary; the JIT build runs with tiered compilation (its default) and "
          f"without (DOTNET_TieredCompilation=0). Median of {args.params['startup_runs']} (min–max).", ""]
    md += results_table(results, startup_w, contender_order)
    md += ["", "## File system workloads", "",
           f"Source: a tmpfs; `native` is that tmpfs itself. DirectFuse runs its {'Native AOT' if args.aot else 'JIT'} build.", ""]
    md += results_table(results, main_w, contender_order)
    md += ["", "Server CPU time per client operation (on-CPU time of all the server's threads over the workload, from "
           "/proc/PID/task/*/schedstat, ÷ operations; utime+stime in clock ticks when a thread exited meanwhile):", ""]
    md += results_table(results, cpu_w, contender_order)
    md += ["", "Round trip of one client operation (each timed by the client: a stat(2); a file's open, write, close and "
           "unlink; one getdents64(2) call of a listing; a stat(2) of a missing name), µs:", ""]
    md += results_table(results, latency_w, contender_order)
    if any(k[0] in ring_w for k in results.values):
        md += ["", "io_uring contenders: ring completions (CqTail of the server's io_uring fds in /proc/PID/fdinfo) per "
               "client operation, the proof that requests travel over the ring:", ""]
        md += results_table(results, ring_w, contender_order)
    md += ["", "## Direct mmap", ""]
    md += results_table(results, mmap_w, contender_order)
    md += ["", "## Server cost per request (fake kernel)", ""]
    md += results_table(results, alloc_w, contender_order)
    if counts:
        md += ["", "## Requests per client operation (DirectFuse, counted with --debug)", "",
               "| contender | workload | ops | requests | requests/op | by opcode (requests) | server CPU µs/request |", "|---|---|---|---|---|---|---|"]
        for (c, w), (ops, by_op) in counts.items():
            total = sum(by_op.values())
            rpo = total / ops if ops else 0
            cpu = results.median(f"{w}.server-cpu", c)
            per_req = f"{cpu / rpo:.1f}" if cpu is not None and rpo else "-"
            detail = ", ".join(f"{k} {v}" for k, v in sorted(by_op.items(), key=lambda kv: -kv[1]))
            md.append(f"| {c} | {w} | {ops} | {total} | {rpo:.3g} | {detail} | {per_req} |")
    md += ["", "## Targets (issues 5, 12 and 14)", "", "| target | measured | required | verdict |", "|---|---|---|---|"]
    for name, measured, need, met in targets(results):
        verdict = "n/a" if met is None else "**met**" if met else "**missed**"
        md.append(f"| {name} | {measured or '-'} | {need} | {verdict} |")
    md += notes
    text = "\n".join(md) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    with open(md_path, "w") as f:
        f.write(text)
    doc = {"mode": mode, "machine": mach, "threads": args.threads, "runs": args.params["runs"], "seconds": round(elapsed),
           "load_start": load_start, "load_end": load_end, "params": args.params, "results": results.records(),
           "targets": [{"target": n, "measured": m, "required": r, "met": ok} for n, m, r, ok in targets(results)],
           "requests_per_op": [{"contender": c, "workload": w, "ops": o, "requests": b} for (c, w), (o, b) in counts.items()]}
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=1)
    return text


if __name__ == "__main__":
    main()
