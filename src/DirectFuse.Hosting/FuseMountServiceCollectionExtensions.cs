using DirectFuse.LowLevel;
using DirectFuse.PathApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DirectFuse.Hosting;

/// <summary>Registers file systems that the host mounts while it runs.</summary>
public static class FuseMountServiceCollectionExtensions
{
    /// <summary>
    /// Mounts the low-level file system that <paramref name="fileSystem"/> makes, as a hosted service: mounted when the
    /// host starts (its start fails with the reason if the mount does), unmounted when it stops. Each call adds one mount.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="fileSystem">Makes the file system when the host starts, from the host's services.</param>
    /// <param name="configure">Sets the mount point (required) and the session's options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFuseMount(this IServiceCollection services, Func<IServiceProvider, LowLevelFileSystem> fileSystem,
        Action<FuseMountOptions> configure)
    {
        var options = Configure(services, fileSystem, configure);
        return Add(services, options, fileSystem);
    }

    private static FuseMountOptions Configure(IServiceCollection services, object fileSystem, Action<FuseMountOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(fileSystem);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new FuseMountOptions();
        configure(options);
        return options;
    }

    /// <summary>
    /// Mounts the path file system that <paramref name="fileSystem"/> makes, as a hosted service: mounted when the host
    /// starts (its start fails with the reason if the mount does), unmounted when it stops. Each call adds one mount.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="fileSystem">Makes the file system when the host starts, from the host's services.</param>
    /// <param name="configure">Sets the mount point (required), the session's options and <see cref="FuseMountOptions.PathOptions"/>.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFuseMount(this IServiceCollection services, Func<IServiceProvider, PathFileSystem> fileSystem,
        Action<FuseMountOptions> configure)
    {
        var options = Configure(services, fileSystem, configure);
        return Add(services, options, provider => new PathFileSystemAdapter(fileSystem(provider), options.PathOptions));
    }

    /// <summary>Mounts <paramref name="fileSystem"/> on <paramref name="mountPoint"/> with default options while the host runs.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="mountPoint">The directory to mount on; it must exist when the host starts.</param>
    /// <param name="fileSystem">The file system to serve.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFuseMount(this IServiceCollection services, string mountPoint, LowLevelFileSystem fileSystem) =>
        services.AddFuseMount(_ => fileSystem, o => o.MountPoint = mountPoint);

    /// <summary>Mounts <paramref name="fileSystem"/> on <paramref name="mountPoint"/> with default options while the host runs.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="mountPoint">The directory to mount on; it must exist when the host starts.</param>
    /// <param name="fileSystem">The file system to serve.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFuseMount(this IServiceCollection services, string mountPoint, PathFileSystem fileSystem) =>
        services.AddFuseMount(_ => fileSystem, o => o.MountPoint = mountPoint);

    private static IServiceCollection Add(IServiceCollection services, FuseMountOptions options, Func<IServiceProvider, LowLevelFileSystem> fileSystem)
    {
        if (string.IsNullOrWhiteSpace(options.MountPoint))
            throw new ArgumentException("FuseMountOptions.MountPoint is required: set it in configure", "configure");
        // Not AddHostedService: it adds one service per implementation type, and every call here is a mount of its own.
        services.AddSingleton<IHostedService>(provider => new FuseMountService(options, () => fileSystem(provider),
            provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance, provider.GetService<IHostApplicationLifetime>()));
        return services;
    }
}
