namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// The fuse module's <c>enable_uring</c> parameter, shared by every test in the process: tests that need it on
/// hold it on together; a test that needs it off waits until nobody holds it on. The value found first is
/// always written back when the last holder lets go, also when a test fails.
/// </summary>
public static class UringParameter
{
    public const string Path = "/sys/module/fuse/parameters/enable_uring";
    private static readonly object Gate = new();
    private static int _on;
    private static bool _off;
    private static string? _original;

    /// <summary>True when this kernel has FUSE over io_uring at all (the parameter exists and we may write it).</summary>
    public static bool Supported => File.Exists(Path) && Environment.UserName == "root";

    /// <summary>The current value, "Y" or "N".</summary>
    public static string Current => File.ReadAllText(Path).Trim();

    /// <summary>Turns the parameter on until the returned handle is disposed (and every other holder has let go).</summary>
    public static IDisposable On()
    {
        lock (Gate)
        {
            WaitUntil(() => !_off);
            if (_on++ == 0)
            {
                _original = Current;
                Write("Y");
            }
        }
        return new Handle(() =>
        {
            lock (Gate)
            {
                if (--_on == 0) Write(_original!);
                Monitor.PulseAll(Gate);
            }
        });
    }

    /// <summary>Turns the parameter off until disposed, once no test holds it on.</summary>
    public static IDisposable Off()
    {
        lock (Gate)
        {
            WaitUntil(() => !_off && _on == 0);
            _off = true;
            _original = Current;
            Write("N");
        }
        return new Handle(() =>
        {
            lock (Gate)
            {
                Write(_original!);
                _off = false;
                Monitor.PulseAll(Gate);
            }
        });
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience.Seconds(120);
        while (!condition())
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException("enable_uring stayed in use by other tests");
            Monitor.Wait(Gate, left);
        }
    }

    private static void Write(string value) => File.WriteAllText(Path, value);

    private sealed class Handle(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) release();
        }
    }
}
