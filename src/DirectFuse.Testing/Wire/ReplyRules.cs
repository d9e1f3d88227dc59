using System.Text;
using static DirectFuse.Testing.Wire.WireReader;

namespace DirectFuse.Testing.Wire;

/// <summary>
/// What the kernel accepts as the reply to a request, from fs/fuse/dev.c (fuse_dev_do_write, copy_out_args) and
/// the callers in fs/fuse/dir.c and file.c. Each check returns null when the kernel would take the reply, or
/// what is wrong and what the kernel would do about it.
/// </summary>
internal static class ReplyRules
{
    /// <summary>The kernel refuses errors outside -511..0 (ERESTARTSYS and above are its own).</summary>
    private const int KernelErrnoLimit = 512;
    private const string Refused = "the kernel refuses the write with EINVAL and the caller gets EIO";
    /// <summary>Checked before the kernel looks the request up: it stays pending.</summary>
    public const string Unmatched = "the kernel refuses the write with EINVAL before it finds the request, so the caller waits until the connection is aborted";

    /// <summary>Checks the reply's header and size against the request it answers.</summary>
    public static string? Check(uint opcode, ReadOnlySpan<byte> args, int error, ReadOnlySpan<byte> payload)
    {
        if (error > 0 || error <= -KernelErrnoLimit)
            return $"error {error} is not a negative errno below {KernelErrnoLimit}: {Unmatched}";
        if (error != 0)
            return payload.Length == 0 ? null : $"an error reply ({error}) carries {payload.Length} bytes of payload: {Refused}";
        return opcode switch
        {
            Opcodes.Lookup or Opcodes.MkNod or Opcodes.MkDir or Opcodes.SymLink or Opcodes.Link => Exactly(payload, EntryOutSize, "fuse_entry_out"),
            Opcodes.GetAttr or Opcodes.SetAttr => Exactly(payload, AttrOutSize, "fuse_attr_out"),
            Opcodes.Open or Opcodes.OpenDir => Exactly(payload, OpenOutSize, "fuse_open_out"),
            Opcodes.Create => Exactly(payload, EntryOutSize + OpenOutSize, "fuse_entry_out and fuse_open_out"),
            Opcodes.Write => CheckWrite(args, payload),
            Opcodes.StatFs => Exactly(payload, StatFsOutSize, "fuse_statfs_out"),
            Opcodes.Read => AtMost(payload, args.Length >= 24 ? U32(args, 16) : 0, "the READ size"),
            Opcodes.ReadDir => AtMost(payload, args.Length >= 24 ? U32(args, 16) : 0, "the READDIR size") ?? CheckListing(payload, plus: false),
            Opcodes.ReadDirPlus => AtMost(payload, args.Length >= 24 ? U32(args, 16) : 0, "the READDIRPLUS size") ?? CheckListing(payload, plus: true),
            Opcodes.ReadLink => AtMost(payload, 4095, "PAGE_SIZE - 1"),
            Opcodes.GetXattr or Opcodes.ListXattr => CheckXattr(args, payload),
            Opcodes.Bmap or Opcodes.Poll or Opcodes.Lseek or Opcodes.CopyFileRange or Opcodes.CopyFileRange64 => Exactly(payload, 8, "its 8-byte reply struct"),
            Opcodes.GetLk => Exactly(payload, 24, "fuse_lk_out"),
            Opcodes.Ioctl => payload.Length >= 16 ? null : $"{payload.Length} bytes instead of at least fuse_ioctl_out (16): {Refused}",
            Opcodes.Unlink or Opcodes.RmDir or Opcodes.Rename or Opcodes.Rename2 or Opcodes.Release or Opcodes.ReleaseDir
                or Opcodes.Flush or Opcodes.Fsync or Opcodes.FsyncDir or Opcodes.SetXattr or Opcodes.RemoveXattr
                or Opcodes.Access or Opcodes.SetLk or Opcodes.SetLkW or Opcodes.Fallocate or Opcodes.Destroy or Opcodes.SyncFs
                => Exactly(payload, 0, "nothing"),
            // INIT's reply may be shorter on old protocols; opcodes unknown here are checked by their header only.
            _ => null,
        };
    }

    private static string? Exactly(ReadOnlySpan<byte> payload, int size, string what) =>
        payload.Length == size ? null : $"{payload.Length} bytes of payload instead of {what} ({size} bytes): {Refused}";

    private static string? AtMost(ReadOnlySpan<byte> payload, uint limit, string what) =>
        payload.Length <= limit ? null : $"{payload.Length} bytes of payload, more than {what} ({limit}): {Refused}";

    private static string? CheckWrite(ReadOnlySpan<byte> args, ReadOnlySpan<byte> payload)
    {
        if (Exactly(payload, WriteOutSize, "fuse_write_out") is { } wrong) return wrong;
        uint asked = args.Length >= 20 ? U32(args, 16) : 0;
        uint written = U32(payload, 0);
        return written <= asked ? null : $"WRITE of {asked} bytes claims {written} written: the kernel answers the caller EIO";
    }

    private static string? CheckXattr(ReadOnlySpan<byte> args, ReadOnlySpan<byte> payload)
    {
        uint asked = args.Length >= 4 ? U32(args, 0) : 0;
        return asked == 0 ? Exactly(payload, XattrSizeOutSize, "fuse_getxattr_out, the answer to a size query") : AtMost(payload, asked, "the buffer size asked for");
    }

    /// <summary>fuse_parse_dirfile: whole records, names of 1..255 bytes without '/' (else the caller gets EIO).</summary>
    public static string? CheckListing(ReadOnlySpan<byte> payload, bool plus)
    {
        int header = (plus ? EntryOutSize : 0) + DirentHeaderSize;
        while (payload.Length > 0)
        {
            if (payload.Length < header) return $"the listing ends in a partial record ({payload.Length} bytes): the kernel drops it";
            int nameLength = (int)Math.Min(U32(payload, header - 8), int.MaxValue);
            if (nameLength == 0 || nameLength > 255)
                return $"a listing entry has a name of {nameLength} bytes: the kernel answers the caller EIO";
            int record = (header + nameLength + 7) & ~7;
            if (record > payload.Length) return $"a listing record of {record} bytes overruns the reply: the kernel drops it";
            var name = payload.Slice(header, nameLength);
            if (name.Contains((byte)'/'))
                return $"the listing holds the name '{Encoding.UTF8.GetString(name)}' with a '/': the kernel answers the caller EIO";
            payload = payload[record..];
        }
        return null;
    }

    /// <summary>fuse_valid_type and fuse_valid_size: attributes the kernel takes (else EIO, and a known inode goes bad).</summary>
    public static string? CheckAttr(FuseAttributes attr)
    {
        if (attr.Type == FuseFileType.Unknown)
            return $"the attributes have mode 0{Convert.ToString(attr.Mode, 8)}, which names no file type (S_IFREG, S_IFDIR, ...): the kernel answers the caller EIO";
        if (attr.Size < 0)
            return $"the attributes have size {(ulong)attr.Size}, above LLONG_MAX: the kernel answers the caller EIO";
        return null;
    }
}
