// Serves a one-file file system while the host runs:
//
//   dotnet run --project samples/HostedHello -- /tmp/hello     (then: cat /tmp/hello/greeting; Ctrl-C unmounts)
//
// The host mounts at start (and fails to start, saying why, if it cannot), unmounts at Ctrl-C or SIGTERM, logs
// through its own logging, and stops if the mount is removed from outside (umount /tmp/hello).
using DirectFuse.Hosting;
using DirectFuse.Samples.HostedHello;
using DirectFuse.Session;
using DirectFuse.Transport;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
string mountPoint = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "/tmp/hello";
Directory.CreateDirectory(mountPoint);
builder.Services.AddFuseMount(_ => new GreetingFileSystem($"Hello from {Environment.MachineName}\n"), options =>
{
    options.MountPoint = mountPoint;
    options.Session = new FuseSessionOptions { Mount = new MountOptions { FsName = "hosted-hello", Subtype = "hosted-hello" } };
});
builder.Build().Run();
