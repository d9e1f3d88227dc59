using System.Collections.Concurrent;
using DirectFuse.Examples.HelloPath;
using DirectFuse.Examples.MemFs;
using DirectFuse.Hosting;
using DirectFuse.Session;
using DirectFuse.Tests.Infrastructure;
using DirectFuse.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DirectFuse.Tests.Hosting;

/// <summary>
/// <c>services.AddFuseMount</c> under a real Generic Host: real mounts, read by coreutils; the host starts only once the
/// mount is live, its stop unmounts, an unmount from outside stops it, and a mount that fails fails the start.
/// </summary>
public sealed class FuseMountHostingTests : IDisposable
{
    private readonly List<string> _dirs = [];
    private readonly RecordingLoggerProvider _logs = new();

    [Fact]
    public async Task The_host_mounts_a_path_and_a_low_level_file_system_at_start_and_unmounts_them_at_stop()
    {
        string hello = NewDirectory(), mem = NewDirectory();
        using var host = BuildHost(services => services
            .AddFuseMount(_ => new HelloPathFileSystem(), o => Configure(o, hello))
            .AddFuseMount(_ => new MemFileSystem(), o => Configure(o, mem)));

        await host.StartAsync().WaitAsync(Patience.Seconds(30));
        // Live as soon as the start returns: no wait, no retry.
        Assert.True(Mounts.IsFuseMounted(hello));
        Assert.True(Mounts.IsFuseMounted(mem));
        Assert.Equal("Hello, World!\n", Run.Process("cat", Path.Combine(hello, "hello")).EnsureSuccess("cat").StdOut);
        Run.Shell($"echo hosted > '{mem}/file' && cat '{mem}/file'").EnsureSuccess("write and read on memfs");
        Assert.Equal("hosted\n", Run.Process("cat", Path.Combine(mem, "file")).EnsureSuccess("cat").StdOut);
        // The session logs through the host's logging.
        Assert.Contains(_logs.Messages, m => m.Category == "DirectFuse" && m.Text.Contains(hello));

        await host.StopAsync().WaitAsync(Patience.Seconds(30));
        Assert.False(Mounts.IsFuseMounted(hello));
        Assert.False(Mounts.IsFuseMounted(mem));
        Assert.Empty(Directory.EnumerateFileSystemEntries(hello));
        Assert.Empty(Directory.EnumerateFileSystemEntries(mem));
    }

    [Fact]
    public async Task An_unmount_from_outside_stops_the_host()
    {
        string dir = NewDirectory();
        using var host = BuildHost(services => services.AddFuseMount(_ => new MemFileSystem(), o => Configure(o, dir)));
        await host.StartAsync().WaitAsync(Patience.Seconds(30));
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        Assert.False(lifetime.ApplicationStopping.IsCancellationRequested);

        Run.Process("umount", dir).EnsureSuccess("umount");

        await host.WaitForShutdownAsync().WaitAsync(Patience.Seconds(30));
        Assert.True(lifetime.ApplicationStopped.IsCancellationRequested);
        Assert.False(Mounts.IsFuseMounted(dir));
        Assert.Contains(_logs.Messages, m => m.Category == "DirectFuse.Hosting" && m.Level == LogLevel.Error && m.Text.Contains("stopping the host"));
    }

    [Fact]
    public async Task A_start_on_a_missing_mount_point_fails_with_the_reason_and_leaves_nothing_mounted()
    {
        string missing = Path.Combine(NewDirectory(), "missing");
        using var host = BuildHost(services => services.AddFuseMount(_ => new HelloPathFileSystem(), o => Configure(o, missing)));

        var e = await Assert.ThrowsAsync<MountException>(() => host.StartAsync().WaitAsync(Patience.Seconds(30)));
        Assert.Contains("does not exist", e.Message);
        Assert.False(Mounts.IsFuseMounted(missing));
        Assert.DoesNotContain(File.ReadAllLines("/proc/mounts"), l => l.Contains(missing));
        await host.StopAsync().WaitAsync(Patience.Seconds(30));
    }

    [Fact]
    public async Task The_hosts_stop_timeout_ends_a_shutdown_that_a_client_holds_open()
    {
        string dir = NewDirectory();
        using var host = BuildHost(services => services.AddFuseMount(_ => new MemFileSystem(), o =>
        {
            Configure(o, dir);
            o.ShutdownGrace = TimeSpan.FromMinutes(5); // the shutdown would wait this long for the client below
        }));
        await host.StartAsync().WaitAsync(Patience.Seconds(30));
        File.WriteAllText(Path.Combine(dir, "held"), "x");
        // A client with an open file keeps the lazily detached connection alive, so the shutdown waits for it.
        using var client = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", "exec 3<\"$0\"; sleep 600", Path.Combine(dir, "held")]) { UseShellExecute = false })!;
        try
        {
            Assert.True(SpinWait.SpinUntil(() => Directory.GetFiles($"/proc/{client.Id}/fd").Length > 3, Patience.Seconds(10)), "the client never opened the file");
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await host.StopAsync(stopTimeout.Token).WaitAsync(Patience.Seconds(30));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {watch.Elapsed.TotalSeconds:0.0} s despite its 1 s timeout");
            Assert.False(Mounts.IsFuseMounted(dir));
            Assert.Contains(_logs.Messages, m => m.Category == "DirectFuse.Hosting" && m.Text.Contains("stop timeout"));
            // The connection was aborted: the held file answers ENOTCONN instead of keeping the server.
            var read = Run.Process("cat", $"/proc/{client.Id}/fd/3");
            Assert.NotEqual(0, read.ExitCode);
        }
        finally
        {
            client.Kill();
            client.WaitForExit();
        }
    }

    [Fact]
    public async Task A_start_cancelled_while_mounting_throws_and_the_late_mount_is_taken_down()
    {
        string dir = NewDirectory();
        var fs = new SlowInitFileSystem();
        using var host = BuildHost(services => services.AddFuseMount(_ => fs, o => Configure(o, dir)));
        using var startTimeout = new CancellationTokenSource();
        var starting = host.StartAsync(startTimeout.Token);
        Assert.True(fs.InitEntered.Wait(Patience.Seconds(10)), "INIT never reached the file system");
        startTimeout.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starting.WaitAsync(Patience.Seconds(30)));
        fs.ReleaseInit.Set(); // the mount now completes, after the host gave up on it
        Assert.True(SpinWait.SpinUntil(() => fs.Destroyed, Patience.Seconds(20)), "the late mount was never taken down");
        Assert.True(Mounts.WaitUntilUnmounted(dir, Patience.Seconds(10)), "the late mount stayed");
        await host.StopAsync().WaitAsync(Patience.Seconds(30));
    }

    /// <summary>A file system whose INIT waits for the test, so that a start can be cancelled while the mount is under way.</summary>
    private sealed class SlowInitFileSystem : DirectFuse.LowLevel.LowLevelFileSystem
    {
        public ManualResetEventSlim InitEntered { get; } = new();
        public ManualResetEventSlim ReleaseInit { get; } = new();
        public volatile bool Destroyed;

        public override void Init(DirectFuse.LowLevel.FuseConnection connection)
        {
            InitEntered.Set();
            ReleaseInit.Wait(Patience.Seconds(30));
            base.Init(connection);
        }

        public override void Destroy()
        {
            Destroyed = true;
            base.Destroy();
        }
    }

    [Fact]
    public void A_mount_without_a_mount_point_is_refused_when_registered()
    {
        var services = new ServiceCollection();
        Assert.Throws<ArgumentException>(() => services.AddFuseMount(_ => new HelloPathFileSystem(), _ => { }));
    }

    private static void Configure(FuseMountOptions options, string mountPoint)
    {
        options.MountPoint = mountPoint;
        options.Session = new FuseSessionOptions
        {
            Mount = new MountOptions { Subtype = "test" },
            Threads = 2,
            InitTimeout = Patience.Seconds(10),
            UseIoUring = TestTransport.IoUring,
        };
    }

    private IHost BuildHost(Action<IServiceCollection> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Information).AddProvider(_logs);
        // No console lifetime: the test process's own signals are not the host's to take.
        builder.Services.AddSingleton<IHostLifetime, NoSignalsLifetime>();
        configure(builder.Services);
        return builder.Build();
    }

    private string NewDirectory()
    {
        string dir = Directory.CreateTempSubdirectory("df-host-").FullName;
        _dirs.Add(dir);
        return dir;
    }

    public void Dispose()
    {
        foreach (string dir in _dirs)
        {
            Mounts.ForceUnmount(dir);
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // A lazily detached mount keeps it busy for a moment; an empty temp dir is harmless.
            }
        }
    }

    private sealed class NoSignalsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed record LogMessage(string Category, LogLevel Level, string Text);

    /// <summary>Keeps every message logged through the host, to see whose logging the session used.</summary>
    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogMessage> _messages = new();

        public IReadOnlyCollection<LogMessage> Messages => _messages.ToArray();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _messages);

        public void Dispose() { }

        private sealed class Logger(string category, ConcurrentQueue<LogMessage> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(new LogMessage(category, logLevel, formatter(state, exception)));
        }
    }
}
