using System.CommandLine;
using DirectFuse.Session;

namespace DirectFuse.Cli.Commands;

/// <summary><c>directfuse unmount MOUNTPOINT</c>.</summary>
internal static class UnmountCommand
{
    public static Command Create()
    {
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "A FUSE mount point" };
        var command = new Command("unmount", "Unmount a FUSE file system (umount as root, fusermount3 -u otherwise)") { mountPoint };
        command.SetAction(result =>
        {
            try
            {
                FuseMounts.Unmount(result.GetRequiredValue(mountPoint));
                return 0;
            }
            catch (MountException e)
            {
                return MountRunner.Fail(e.Message);
            }
        });
        return command;
    }
}
