using System.Globalization;

namespace DirectFuse.Bench;

/// <summary>
/// In-process measurements for bench/run. Every figure is printed as one line
/// <c>RESULT &lt;workload&gt; &lt;contender&gt; &lt;value&gt; &lt;unit&gt;</c>; the driver collects the runs and takes medians.
/// </summary>
/// <remarks>
///   alloc  [--requests N] [--runs R] [--telemetry none|metrics|traces]  server cost per request against a fake kernel,
///          optionally with a listener on the DirectFuse meter (metrics) or also sampling every request's span (traces)
///   fmmap  MOUNTDIR HELPER [--size BYTES] [--runs R] [--sync-size BYTES]   direct mmap vs memfd, page-cache store/retrieve
/// </remarks>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: directfuse-bench alloc|fmmap ...");
            return 2;
        }
        var rest = args[1..];
        return args[0] switch
        {
            "alloc" => AllocBench.Run(rest),
            "fmmap" => FmmapBench.Run(rest),
            _ => Usage(args[0]),
        };
    }

    private static int Usage(string command)
    {
        Console.Error.WriteLine($"unknown command {command}");
        return 2;
    }

    internal static void Result(string workload, string contender, double value, string unit) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {workload} {contender} {value:0.####} {unit}"));

    internal static string Option(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    internal static long Size(string text)
    {
        text = text.Trim();
        long unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        return long.Parse(unit == 1 ? text : text[..^1], CultureInfo.InvariantCulture) * unit;
    }
}
