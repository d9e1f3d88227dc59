using DirectFuse.LowLevel;
using DirectFuse.PathApi;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.PathApi;

/// <summary>
/// On a real mount, fcntl and flock locks reach a path file system exactly when it declares them in
/// <see cref="PathFileSystem.ServedLocks"/>; otherwise the kernel keeps them, and they still exclude each other.
/// </summary>
public sealed class PathLockTests
{
    // Takes each kind of lock on f, then asks a second process for a conflicting one without waiting.
    private const string Script = """
        import fcntl, os, subprocess, sys
        path = os.path.join(sys.argv[1], 'f')
        probe = "import fcntl,sys\nf=open(sys.argv[1],'r+')\ntry:\n  fcntl.%s(f, fcntl.LOCK_EX|fcntl.LOCK_NB)\n  print('got')\nexcept OSError:\n  print('busy')"
        def other(call):
            return subprocess.run([sys.executable, '-c', probe % call, path], capture_output=True, text=True, check=True).stdout.strip()
        with open(path, 'r+') as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            print('lockf', other('lockf'))
            fcntl.lockf(f, fcntl.LOCK_UN)
        with open(path, 'r+') as g:
            fcntl.flock(g, fcntl.LOCK_EX)
            print('flock', other('flock'))
            fcntl.flock(g, fcntl.LOCK_UN)
        """;

    private static (string[] Output, string[] LockCalls) LockOn(LockKinds declared)
    {
        var fs = new MemoryPathFileSystem { Locks = declared };
        fs.AddFile("/f", "x"u8.ToArray());
        using var m = TempMount.Create(new PathFileSystemAdapter(fs), prefix: "df-pathlock-");
        var output = Run.PythonScript(Script, m.Path).EnsureSuccess("locks").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var calls = fs.Calls.Where(c => c.StartsWith("setlock", StringComparison.Ordinal) || c.StartsWith("getlock", StringComparison.Ordinal)
            || c.StartsWith("flock", StringComparison.Ordinal)).ToArray();
        return (output, calls);
    }

    [Fact]
    public void Undeclared_locks_are_kept_by_the_kernel_and_exclude_each_other()
    {
        var (output, calls) = LockOn(LockKinds.None);
        Assert.Equal(["lockf busy", "flock busy"], output);
        Assert.Empty(calls);
    }

    [Fact]
    public void Declared_locks_reach_the_file_system()
    {
        // This file system grants every lock, so the second process gets one too: proof the kernel asked it.
        var (output, calls) = LockOn(LockKinds.Posix | LockKinds.Flock);
        Assert.Equal(["lockf got", "flock got"], output);
        Assert.Contains($"setlock /f {FileLock.WriteLock}", calls);
        Assert.Contains($"flock /f {FileLock.WriteLock}", calls);
    }

    [Fact]
    public void Only_the_declared_kind_reaches_the_file_system()
    {
        var (output, calls) = LockOn(LockKinds.Flock);
        Assert.Equal(["lockf busy", "flock got"], output);
        Assert.All(calls, c => Assert.StartsWith("flock ", c));
        Assert.NotEmpty(calls);
    }
}
