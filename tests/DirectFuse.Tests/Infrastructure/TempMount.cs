using DirectFuse.LowLevel;
using DirectFuse.Session;
using DirectFuse.Transport;

namespace DirectFuse.Tests.Infrastructure;

/// <summary>
/// A file system mounted in-process on a fresh temporary directory. Dispose always unmounts (and aborts
/// the connection if it does not end), so a failing test leaves no mount behind.
/// </summary>
public sealed class TempMount : IDisposable
{
    private TempMount(string path, FuseSession session)
    {
        Path = path;
        Session = session;
    }

    public string Path { get; }
    public FuseSession Session { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public static TempMount Create(LowLevelFileSystem fs, FuseSessionOptions? options = null, string prefix = "df-mnt-")
    {
        string dir = Directory.CreateTempSubdirectory(prefix).FullName;
        try
        {
            options ??= new FuseSessionOptions();
            if (options.Mount == new MountOptions()) options = options with { Mount = new MountOptions { Subtype = "test" } };
            options = options with { InitTimeout = Patience.Of(options.InitTimeout) };
            if (TestTransport.IoUring) options = options with { UseIoUring = true };
            return new TempMount(dir, FuseSession.Mount(fs, dir, options));
        }
        catch
        {
            Directory.Delete(dir);
            throw;
        }
    }

    public void Dispose()
    {
        Session.Dispose();
        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
            // Still busy for a moment after a lazy unmount; the temp directory is harmless.
        }
    }
}
