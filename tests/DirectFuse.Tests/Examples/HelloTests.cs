using DirectFuse.Examples.Hello;
using DirectFuse.Tests.Infrastructure;

namespace DirectFuse.Tests.Examples;

/// <summary>The README's low-level sample works as the README says.</summary>
public sealed class HelloTests
{
    [Fact]
    public void Readme_sample_serves_hello()
    {
        using var m = TempMount.Create(new HelloFileSystem());
        Assert.Equal("hello\n", Run.Process("cat", m["hello"]).EnsureSuccess("cat").StdOut);
        Assert.Equal("hello", Run.Process("ls", m.Path).EnsureSuccess("ls").StdOut.Trim());
        Assert.Contains("No such file", Run.Process("cat", m["nope"]).StdErr);
    }
}
