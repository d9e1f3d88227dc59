"""FUSE over io_uring and the newest peers for the benchmark (issue 14); imported by driver.py.

- The fuse module's enable_uring parameter: set to Y only while an io_uring contender is mounted, and always put
  back (the driver's finally, bench/run's EXIT trap from the saved value if the driver dies).
- Proof that a contender's requests really travel over a ring: its io_uring file descriptors' CqTail in
  /proc/PID/fdinfo (one completion per request fetched) and its threads' names (libfuse: fuse-ring-N).
- Server CPU with nanosecond resolution: the sum of every thread's on-CPU time (/proc/PID/task/*/schedstat).
"""
import os

ENABLE_URING = "/sys/module/fuse/parameters/enable_uring"


class UringParameter:
    """enable_uring=Y while an io_uring contender is mounted, the value found before otherwise.

    The value found first is also written to `saved_path` until it is restored, so bench/run's EXIT trap can
    put it back if this process is killed outright. The kernel checks the parameter at INIT and on every ring
    command, so it stays Y until the io_uring server is unmounted."""

    def __init__(self, saved_path):
        self.saved_path = saved_path
        self.original = None
        self.depth = 0

    @staticmethod
    def available():
        """Whether this kernel has FUSE over io_uring and this process may set the parameter (no write here:
        somebody else may be using it right now)."""
        return os.path.exists(ENABLE_URING) and os.access(ENABLE_URING, os.W_OK)

    def enable(self):
        if self.depth == 0:
            with open(ENABLE_URING) as f:
                self.original = f.read().strip()
            with open(self.saved_path, "w") as f:
                f.write(self.original + "\n")
            with open(ENABLE_URING, "w") as f:
                f.write("Y")
        self.depth += 1

    def restore(self):
        """Undoes one enable(); the last one writes the original value back."""
        if self.depth == 0:
            return
        self.depth -= 1
        if self.depth == 0:
            self.restore_all()

    def restore_all(self):
        if self.original is not None:
            with open(ENABLE_URING, "w") as f:
                f.write(self.original)
            self.original = None
        self.depth = 0
        if os.path.exists(self.saved_path):
            os.remove(self.saved_path)


def ring_tails(pid):
    """CqTail of each of the process's io_uring fds ({} when it has none): the kernel posts one completion each
    time it hands a FUSE request to a ring entry."""
    tails = {}
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return tails
    for fd in fds:
        try:
            if os.readlink(os.path.join(fd_dir, fd)) != "anon_inode:[io_uring]":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("CqTail:"):
                        tails[fd] = int(line.split()[1])
                        break
        except OSError:
            continue
    return tails


def ring_completions(before, after):
    """Completions posted between two ring_tails() snapshots (the 32-bit tails wrap)."""
    return sum((tail - before.get(fd, 0)) % 2**32 for fd, tail in after.items())


def thread_names(pid):
    names = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    names.append(f.read().strip())
            except OSError:
                pass
    except OSError:
        pass
    return names


def ring_summary(pid):
    """One line for the report: io_uring fds, ring-looking threads."""
    names = thread_names(pid)
    rings = sorted(n for n in names if "ring" in n.lower() or "uring" in n.lower())
    fds = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                fds += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[io_uring]"
            except OSError:
                pass
    except OSError:
        pass
    return f"{fds} io_uring fds, {len(names)} threads" + (f" ({', '.join(rings)})" if rings else "")


class CpuMeter:
    """Server CPU over a workload: every thread's on-CPU nanoseconds (schedstat), or, when a thread present at
    the start has exited by the end (its time is gone from /proc), utime+stime in clock ticks (which keeps
    exited threads' time but has 10 ms resolution)."""

    def __init__(self, pid):
        self.pid = pid

    def snapshot(self):
        threads = {}
        try:
            for tid in os.listdir(f"/proc/{self.pid}/task"):
                try:
                    with open(f"/proc/{self.pid}/task/{tid}/schedstat") as f:
                        threads[tid] = int(f.read().split()[0])
                except OSError:
                    pass
        except OSError:
            pass
        return threads, ticks_seconds(self.pid)

    @staticmethod
    def seconds(before, after):
        (t0, ticks0), (t1, ticks1) = before, after
        if t0 and all(tid in t1 for tid in t0):
            return sum(ns - t0.get(tid, 0) for tid, ns in t1.items()) / 1e9
        return ticks1 - ticks0


def ticks_seconds(pid):
    """utime+stime of a process (all threads, including those that exited), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
