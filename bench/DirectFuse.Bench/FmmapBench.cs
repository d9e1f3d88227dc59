using System.Diagnostics;
using System.Text.Json;
using DirectFuse.DirectMmap;
using DirectFuse.Examples.Fmmap;
using DirectFuse.Session;
using DirectFuse.Transport;

namespace DirectFuse.Bench;

/// <summary>
/// Direct mmap, with the fmmap example served in this process and our C client (bench/src/mmapbench.c) in
/// another: memcpy bandwidth through the client's mapping of the region and first-touch fault rate, each
/// against a native memfd in the same client; then the page-cache fallback's store/retrieve throughput
/// (RegionBinder.PullAsync / SyncAsync over a region the client dirtied through its mapping).
/// </summary>
internal static class FmmapBench
{
    private const int FaultPassesPerRun = 4;

    public static int Run(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: directfuse-bench fmmap MOUNTDIR MMAPBENCH [--size BYTES] [--runs R] [--reps N] [--sync-size BYTES] [--threads N] [--parts direct,pagecache]");
            return 2;
        }
        string mountPoint = args[0], helper = args[1];
        long size = Program.Size(Program.Option(args, "--size", "256M"));
        long syncSize = Program.Size(Program.Option(args, "--sync-size", "64M"));
        int runs = int.Parse(Program.Option(args, "--runs", "5"));
        int reps = int.Parse(Program.Option(args, "--reps", "5"));
        int threads = int.Parse(Program.Option(args, "--threads", "2"));
        string parts = Program.Option(args, "--parts", "direct,pagecache");
        var options = new FuseSessionOptions { Threads = threads, Mount = new MountOptions { Subtype = "fmmap", FsName = "fmmap" } };

        // Passthrough: the client's mapping is the region's memfd.
        if (parts.Contains("direct")) RunDirect(mountPoint, helper, size, runs, reps, options);
        if (parts.Contains("pagecache")) RunPageCache(mountPoint, helper, syncSize, runs, options);
        return 0;
    }

    private static void RunDirect(string mountPoint, string helper, long size, int runs, int reps, FuseSessionOptions options)
    {
        var fs = new FmmapFileSystem(size, RegionPolicy.PerUid(size));
        using (var session = FuseSession.Mount(fs, mountPoint, options))
        {
            string file = Path.Combine(mountPoint, FmmapFileSystem.FileName);
            _ = fs.Binder.Mode; // decided at INIT
            Console.Error.WriteLine($"fmmap: {fs.Binder.Mode} ({fs.Binder.ModeReason})");
            if (fs.Binder.Mode != DirectMmapMode.Passthrough)
                Console.Error.WriteLine("fmmap: passthrough unavailable; the direct-mmap figures measure the page-cache mode");
            for (int run = 0; run < runs; run++)
            {
                // Alternate which goes first, so neither always runs on a warmer (or cooler) machine.
                var pair = new[] { ("native-memfd", "memfd"), ("directfuse-fmmap", file) };
                if (run % 2 == 1) Array.Reverse(pair);
                foreach (var (contender, path) in pair)
                {
                    var bw = Helper(helper, "bw", path, size, reps.ToString());
                    Program.Result("mmap-write-bw", contender, bw.GetProperty("write_gbs").GetDouble(), "GB/s");
                    Program.Result("mmap-read-bw", contender, bw.GetProperty("read_gbs").GetDouble(), "GB/s");
                }
                // A fault pass takes a fifth of a second, short enough for a noisy neighbour to move it by 20 %:
                // several alternating passes per run, each a sample, so the median is not one unlucky pass.
                for (int pass = 0; pass < FaultPassesPerRun; pass++)
                {
                    Array.Reverse(pair);
                    foreach (var (contender, path) in pair)
                    {
                        var fault = Helper(helper, "fault", path, size);
                        Program.Result("mmap-first-touch", contender,
                            fault.GetProperty("faults").GetDouble() / fault.GetProperty("seconds").GetDouble() / 1e3, "kfaults/s");
                    }
                }
            }
            Program.Result("fmmap-read-requests", "directfuse-fmmap", fs.ReadRequests, "requests");
            session.Unmount();
            session.WaitAsync().Wait(10_000);
        }

    }

    private static void RunPageCache(string mountPoint, string helper, long syncSize, int runs, FuseSessionOptions options)
    {
        // Page-cache fallback: a fresh mount per run, so no page of an earlier run is still cached.
        for (int run = 0; run < runs; run++)
        {
            var pc = new FmmapFileSystem(syncSize, RegionPolicy.PerUid(syncSize), DirectMmapMode.PageCache);
            using var session = FuseSession.Mount(pc, mountPoint, options);
            string file = Path.Combine(mountPoint, FmmapFileSystem.FileName);
            var psi = new ProcessStartInfo(helper) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "dirty", file, syncSize.ToString() }) psi.ArgumentList.Add(a);
            using var client = Process.Start(psi)!;
            try
            {
                var fill = Stopwatch.StartNew();
                if (client.StandardOutput.ReadLine() != "ready") throw new InvalidOperationException("mmapbench dirty failed");
                double fillSeconds = fill.Elapsed.TotalSeconds;
                var region = pc.RegionFor("uid:0") ?? throw new InvalidOperationException("no region for uid 0");

                var sw = Stopwatch.StartNew();
                pc.Binder.PullAsync(region).GetAwaiter().GetResult();
                double pullSeconds = sw.Elapsed.TotalSeconds;
                // The client wrote byte 1 + (page % 250) into every page; after the pull the region must hold it.
                long page = MmapAddressSpace.PageSize, pages = syncSize / page, wrong = 0;
                for (long p = 0; p < pages; p += 97)
                    if (region.GetSpan(p * page, 1)[0] != (byte)(1 + p % 250)) wrong++;
                if (wrong != 0) throw new InvalidOperationException($"pull left {wrong} sampled pages without the client's bytes");

                region.GetSpan(0, (int)syncSize).Fill((byte)(0xA0 + run)); // the server rewrites everything
                sw.Restart();
                int pushed = pc.Binder.SyncAsync(region).GetAwaiter().GetResult();
                double syncSeconds = sw.Elapsed.TotalSeconds;

                double mib = syncSize / (double)(1 << 20);
                Program.Result("pagecache-client-fill", "directfuse-fmmap-pagecache", mib / fillSeconds, "MiB/s");
                Program.Result("pagecache-retrieve", "directfuse-fmmap-pagecache", mib / pullSeconds, "MiB/s");
                Program.Result("pagecache-sync-store", "directfuse-fmmap-pagecache", pushed * (double)page / (1 << 20) / syncSeconds, "MiB/s");
                Program.Result("pagecache-sync-pages", "directfuse-fmmap-pagecache", pushed, "pages");
            }
            finally
            {
                client.StandardInput.WriteLine("done");
                client.StandardInput.Flush();
                if (!client.WaitForExit(10_000)) client.Kill();
            }
            session.Unmount();
            session.WaitAsync().Wait(10_000);
        }
    }

    private static JsonElement Helper(string helper, string mode, string path, long size, string? extra = null)
    {
        var psi = new ProcessStartInfo(helper) { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(mode);
        psi.ArgumentList.Add(path);
        psi.ArgumentList.Add(size.ToString());
        if (extra is not null) psi.ArgumentList.Add(extra);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"mmapbench {mode} {path} failed ({p.ExitCode}): {output}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }
}
