namespace DirectFuse.Cli.Daemon;

/// <summary>
/// How to run this program again, for the daemon: .NET cannot fork a running process (its other threads would
/// not exist in the child), so the daemon is a new execution of the same program with the same arguments.
/// </summary>
internal static class ProgramPath
{
    /// <summary>
    /// The command line prefix that starts this program: the executable itself (a Native AOT binary, the apphost,
    /// a single-file bundle), or the <c>dotnet</c> host and the entry assembly when run as <c>dotnet directfuse.dll</c>.
    /// Null if it cannot be found.
    /// </summary>
    public static IReadOnlyList<string>? Command()
    {
        string? process = Environment.ProcessPath;
        if (process is null) return null;
        if (Path.GetFileNameWithoutExtension(process) != "dotnet") return [process];
        // Under the dotnet host, argument 0 is the entry assembly's path (the host's own options are gone by then).
        string? assembly = Environment.GetCommandLineArgs().FirstOrDefault();
        if (assembly is null || !assembly.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || !File.Exists(assembly))
            assembly = Path.Combine(AppContext.BaseDirectory, "directfuse.dll");
        return File.Exists(assembly) ? [process, Path.GetFullPath(assembly)] : null;
    }
}
