using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using DirectFuse.Session;

namespace DirectFuse.Cli.Commands;

/// <summary><c>directfuse --version</c> (and <c>-V</c>, as libfuse file systems take it): the build and the FUSE protocol it speaks.</summary>
internal static class VersionText
{
    /// <summary>One line: the informational version (with the commit it was built from) and the kernel protocol versions.</summary>
    public static string Text =>
        $"directfuse {typeof(VersionText).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown"}"
        + $" (FUSE kernel protocol {FuseSession.ProtocolVersion}; accepts kernels from {FuseSession.OldestProtocolVersion}; no libfuse)";

    /// <summary>Replaces System.CommandLine's --version, which knows only the assembly's version, with one that also answers -V.</summary>
    public static void Replace(RootCommand root)
    {
        foreach (var existing in root.Options.OfType<VersionOption>().ToList()) root.Options.Remove(existing);
        root.Options.Add(new VersionOption("--version", "-V") { Action = new Print() });
    }

    private sealed class Print : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Text);
            return 0;
        }
    }
}
