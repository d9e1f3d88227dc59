using System.Text.RegularExpressions;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Architecture;

/// <summary>
/// The library's folders are its layers, and each uses only those below it: the wire protocol knows no API, the
/// engine knows no path API, CUSE, devices or direct mmap, and so on up. Read from the sources, so a violation
/// fails here with the file and the reference, whether it is a <c>using</c> or a qualified name.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>
    /// Each namespace of src/DirectFuse with its layer, lowest first. A namespace may use its own layer and those
    /// below; the engine (session, transport and the inode API it serves) is one layer. A new namespace must be
    /// placed here, or <see cref="Every_namespace_has_a_layer"/> fails.
    /// </summary>
    private static readonly Dictionary<string, (int Rank, string Layer)> Layers = new()
    {
        ["DirectFuse"] = (0, "vocabulary (Errno, Result)"),
        ["DirectFuse.Interop"] = (0, "native calls"),
        ["DirectFuse.Protocol"] = (1, "wire protocol"),
        ["DirectFuse.Session"] = (2, "engine"),
        ["DirectFuse.Session.Uring"] = (2, "engine"),
        ["DirectFuse.Transport"] = (2, "engine"),
        ["DirectFuse.Transport.IoUring"] = (2, "engine"),
        ["DirectFuse.LowLevel"] = (2, "engine"),
        ["DirectFuse.PathApi"] = (3, "path API"),
        ["DirectFuse.DirectMmap"] = (4, "direct mmap"),
        ["DirectFuse.Devices"] = (5, "devices"),
        ["DirectFuse.Cuse"] = (6, "CUSE"),
    };

    [Fact]
    public void Every_namespace_has_a_layer()
    {
        var unknown = Sources().Select(s => s.Namespace).Where(n => !Layers.ContainsKey(n)).Distinct().ToList();
        Assert.Empty(unknown);
    }

    [Fact]
    public void No_layer_uses_one_above_it()
    {
        var violations = Sources().SelectMany(s => Violations(s.Path, s.Namespace, s.Text)).ToList();
        Assert.True(violations.Count == 0, "layering violations:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void The_scan_sees_usings_and_qualified_names_but_not_comments()
    {
        // The check itself, on made-up sources: each of these reaches up from the engine.
        Assert.Single(Violations("a.cs", "DirectFuse.Session", "using DirectFuse.Cuse;\nnamespace DirectFuse.Session;"));
        Assert.Single(Violations("b.cs", "DirectFuse.LowLevel", "class A { bool B => DirectMmap.Capabilities.HasSysAdmin(); }"));
        Assert.Single(Violations("c.cs", "DirectFuse.Session", "class A { object B(object x) => x is global::DirectFuse.Devices.DeviceFileSystem; }"));
        Assert.Single(Violations("d.cs", "DirectFuse.Protocol", "struct A { LowLevel.WriteFlags Flags; }"));
        // Downwards, sideways within the engine, or only in comments and strings: fine.
        Assert.Empty(Violations("e.cs", "DirectFuse.Cuse", "using DirectFuse.Devices;\nusing DirectFuse.Session;\nclass A { Interop.Libc X; }"));
        Assert.Empty(Violations("f.cs", "DirectFuse.LowLevel", "/// <see cref=\"PathApi.PathFileSystem\"/>\nclass A { string B = \"DirectFuse.Cuse\"; Session.FuseNotifier? N; } // Devices.X"));
        Assert.Empty(Violations("g.cs", "DirectFuse.Session", "class A { void B(C r) => r.Session.Dispose(); }"));
    }

    private static IEnumerable<string> Violations(string path, string ns, string text)
    {
        int rank = Layers[ns].Rank;
        string code = Code(text);
        var targets = UsingPattern().Matches(code).Select(m => "DirectFuse." + m.Groups[1].Value)
            .Concat(QualifiedPattern().Matches(code).Select(m => "DirectFuse." + m.Groups[1].Value));
        foreach (var target in targets.Distinct())
        {
            if (Layers.TryGetValue(target, out var to) && to.Rank > rank)
                yield return $"{path}: {ns} ({Layers[ns].Layer}) uses {target} ({to.Layer})";
        }
    }

    /// <summary>The source without comments and string literals, where a namespace's name is no reference.</summary>
    private static string Code(string text) => CommentOrStringPattern().Replace(text, " ");

    private static IEnumerable<(string Path, string Namespace, string Text)> Sources()
    {
        string root = Path.Combine(CliProcess.RepositoryRoot, "src", "DirectFuse");
        foreach (var path in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, path);
            if (relative.StartsWith("bin" + Path.DirectorySeparatorChar) || relative.StartsWith("obj" + Path.DirectorySeparatorChar)) continue;
            string text = File.ReadAllText(path);
            var ns = NamespacePattern().Match(text);
            Assert.True(ns.Success, $"{relative} declares no file-scoped namespace");
            yield return (relative, ns.Groups[1].Value, text);
        }
    }

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex NamespacePattern();

    [GeneratedRegex(@"^\s*using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?:global::)?DirectFuse\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex UsingPattern();

    // "DirectFuse.Cuse.X", or "Cuse.X" as code inside namespace DirectFuse.* writes it; not "r.Session.X" (a member).
    [GeneratedRegex(@"(?<![\w.])(?:(?:global::)?DirectFuse\.)?(Interop|Protocol|Session|Transport|LowLevel|PathApi|DirectMmap|Devices|Cuse)\.[A-Z]")]
    private static partial Regex QualifiedPattern();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|""(?:[^""\\\n]|\\.)*""", RegexOptions.Singleline)]
    private static partial Regex CommentOrStringPattern();
}
