using DirectFuse.PathApi;
using DirectFuse.Session;

namespace DirectFuse.Hosting;

/// <summary>Where and how a hosted file system is mounted (<see cref="FuseMountServiceCollectionExtensions.AddFuseMount(Microsoft.Extensions.DependencyInjection.IServiceCollection, Func{IServiceProvider, LowLevel.LowLevelFileSystem}, Action{FuseMountOptions})"/>).</summary>
public sealed class FuseMountOptions
{
    /// <summary>The directory to mount on; it must exist when the host starts. Required.</summary>
    public string MountPoint { get; set; } = "";

    /// <summary>
    /// The session's settings: mount options, threads, timeouts. Its <see cref="FuseSessionOptions.LoggerFactory"/> is
    /// replaced by the host's unless set to another than the default.
    /// </summary>
    public FuseSessionOptions Session { get; set; } = new();

    /// <summary>How a path file system (<see cref="PathFileSystem"/>) is adapted to the kernel's inodes; unused for a low-level one.</summary>
    public PathFileSystemOptions? PathOptions { get; set; }

    /// <summary>
    /// At stop: how long clients with open files keep the lazily detached mount before the connection is aborted
    /// (see <see cref="FuseSession.Shutdown"/>). Default 1 s.
    /// </summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>At stop, after the connection was aborted: how long handlers still running get to return. Default 3 s.</summary>
    public TimeSpan ShutdownAfterAbort { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Whether the host stops (<c>IHostApplicationLifetime.StopApplication</c>) when the mount ends while the host
    /// runs, e.g. after an <c>umount</c> from outside. Default true: a service whose mount is gone has nothing to serve.
    /// </summary>
    public bool StopHostWhenUnmounted { get; set; } = true;
}
