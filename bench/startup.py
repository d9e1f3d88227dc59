"""Server start-up: how soon a freshly executed `directfuse mount memfs` answers, and what it then costs.

For each build of the CLI (the shipped Native AOT binary, the JIT build with and without tiered compilation)
and each run: exec the server on an empty mount point, time

  startup-first-answer  exec -> the first stat(2) of the mount root answered by the server (GETATTR after INIT)
  first-create          then open(O_CREAT|O_EXCL) of a new file: the first LOOKUP and CREATE the server serves
  startup-rss           the server's resident memory (VmRSS) right after that

then unmount and wait for the server to exit. Variants alternate run by run, after one uncounted warm-up
round (page cache). Standard library only, like driver.py.
"""
import os
import subprocess
import time

POLL_SECONDS = 0.0005


class Variant:
    def __init__(self, name, command, env=None, description=""):
        self.name = name
        self.command = command  # argv before "mount memfs MNT"
        self.env = env or {}
        self.description = description


def variants(aot, dll):
    """The builds compared; missing ones (no AOT binary given) are left out."""
    result = []
    if aot:
        result.append(Variant("directfuse-aot", [aot], description="the shipped Native AOT binary"))
    result.append(Variant("directfuse-jit", ["dotnet", dll], {"DOTNET_TieredCompilation": "1"},
                          "JIT build, tiered compilation (the .NET default)"))
    result.append(Variant("directfuse-jit-notiered", ["dotnet", dll], {"DOTNET_TieredCompilation": "0"},
                          "JIT build, TieredCompilation=0: every method fully optimised at its first call"))
    return result


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def measure_once(variant, mnt, cleanup, timeout=60):
    """One start: (ms to the first answered stat, ms for the first create, MiB resident)."""
    os.makedirs(mnt, exist_ok=True)
    underlying = os.stat(mnt).st_dev
    env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT="1", **variant.env)
    start = time.perf_counter()
    proc = subprocess.Popen(variant.command + ["mount", "memfs", mnt], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    cleanup.started(proc)
    cleanup.mounted(mnt)
    try:
        deadline = start + timeout
        while True:
            # Before the mount exists this is the directory underneath (another device). Once it exists, the
            # kernel holds the stat until INIT is answered and then asks the server (GETATTR of the root).
            if os.stat(mnt).st_dev != underlying:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{variant.name} exited with {proc.returncode} before answering: {proc.stderr.read()[-2000:]}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{variant.name} did not answer within {timeout} s")
            time.sleep(POLL_SECONDS)
        first_answer = time.perf_counter() - start
        path = os.path.join(mnt, "first")
        t = time.perf_counter()
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        first_create = time.perf_counter() - t
        os.close(fd)
        rss = rss_mib(proc.pid)
    finally:
        cleanup.unmount(mnt, proc)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant.name} exited with {proc.returncode} after unmount: {proc.stderr.read()[-2000:]}")
    proc.stderr.close()
    return first_answer * 1e3, first_create * 1e3, rss


def measure(results, cleanup, mnt_root, runs, aot, dll, log=print):
    vs = variants(aot, dll)
    for v in vs:
        log(f"bench: {v.name}: {v.description}")
    mnt = os.path.join(mnt_root, "startup")
    for v in vs:
        measure_once(v, mnt, cleanup)  # warm-up: binaries and assemblies into the page cache
    for run in range(runs):
        for v in vs:
            first_answer, first_create, rss = measure_once(v, mnt, cleanup)
            results.add("startup-first-answer", v.name, first_answer, "ms")
            results.add("first-create", v.name, first_create, "ms")
            results.add("startup-rss", v.name, rss, "MiB")
            log(f"  {v.name:24} start-up run {run + 1}: first answer {first_answer:.1f} ms, first create {first_create:.2f} ms, RSS {rss:.1f} MiB")
    return [v.name for v in vs]
