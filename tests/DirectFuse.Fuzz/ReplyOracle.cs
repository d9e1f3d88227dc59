using System.Buffers.Binary;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Fuzz;

/// <summary>Whether a request takes a reply: the kernel's rules, written down independently of the engine's table.</summary>
internal enum ReplyRule
{
    /// <summary>FORGET, BATCH_FORGET, NOTIFY_REPLY, and anything too short to carry a unique.</summary>
    None,
    /// <summary>Exactly one reply, within the time bound.</summary>
    Exactly,
    /// <summary>INTERRUPT: none when its request is found, else EAGAIN (the kernel requeues it).</summary>
    Maybe,
}

/// <summary>What a reply must look like, given the request it answers.</summary>
internal static class ReplyOracle
{
    private const int ArgsAt = RequestGenerator.HeaderSize;
    /// <summary>Linux errnos are 1..133 (EHWPOISON); kernel-internal ones (ERESTARTSYS 512...) must never be sent.</summary>
    private const int LargestErrno = 133;
    private const int EAGAIN = 11;

    public static ReplyRule Expect(ReadOnlySpan<byte> request)
    {
        if (request.Length < ArgsAt) return ReplyRule.None;
        return Opcode(request) switch
        {
            FuseOpcode.Forget or FuseOpcode.BatchForget or FuseOpcode.NotifyReply => ReplyRule.None,
            FuseOpcode.Interrupt => ReplyRule.Maybe,
            _ => ReplyRule.Exactly,
        };
    }

    public static FuseOpcode Opcode(ReadOnlySpan<byte> request) => (FuseOpcode)BinaryPrimitives.ReadUInt32LittleEndian(request[4..]);

    /// <summary>Null if <paramref name="reply"/> is a valid answer to <paramref name="request"/>, else why not.</summary>
    public static string? Check(ReadOnlySpan<byte> request, ReadOnlySpan<byte> reply, uint maxPayload)
    {
        if (reply.Length < 16) return $"reply of {reply.Length} bytes is shorter than fuse_out_header";
        uint len = BinaryPrimitives.ReadUInt32LittleEndian(reply);
        int error = BinaryPrimitives.ReadInt32LittleEndian(reply[4..]);
        var payload = reply[16..];
        if (len != reply.Length) return $"header len {len} but {reply.Length} bytes written";
        if (error > 0 || error < -LargestErrno) return $"error {error} is not a negative errno";
        if (error != 0 && payload.Length != 0) return $"error {error} with {payload.Length} bytes of payload";
        if (payload.Length > maxPayload) return $"payload of {payload.Length} bytes is larger than the reply buffer ({maxPayload})";
        var op = Opcode(request);
        if (Expect(request) == ReplyRule.None) return $"{op} must not be answered";
        if (op == FuseOpcode.Interrupt && error != -EAGAIN) return $"INTERRUPT answered {error}, only EAGAIN is allowed";
        if (error != 0) return null;
        var args = request[ArgsAt..];
        switch (op)
        {
            case FuseOpcode.Read or FuseOpcode.ReadDir or FuseOpcode.ReadDirPlus when args.Length >= 24:
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(args[16..]);
                if (payload.Length > size) return $"{op} of {size} bytes answered with {payload.Length}";
                if (op != FuseOpcode.Read) return CheckListing(payload, plus: op == FuseOpcode.ReadDirPlus);
                break;
            case FuseOpcode.GetXattr or FuseOpcode.ListXattr when args.Length >= 4:
                uint asked = BinaryPrimitives.ReadUInt32LittleEndian(args);
                if (asked == 0 && payload.Length != 8) return $"{op} size query answered with {payload.Length} bytes, not fuse_getxattr_out";
                if (asked != 0 && payload.Length > asked) return $"{op} of {asked} bytes answered with {payload.Length}";
                break;
            case FuseOpcode.ReadLink:
                if (payload.Length > 4095) return $"READLINK answered with {payload.Length} bytes (PAGE_SIZE - 1 at most)";
                break;
            case FuseOpcode.Write when args.Length >= 20:
                uint wanted = BinaryPrimitives.ReadUInt32LittleEndian(args[16..]);
                if (payload.Length != 8) return $"WRITE answered with {payload.Length} bytes, not fuse_write_out";
                if (BinaryPrimitives.ReadUInt32LittleEndian(payload) > wanted) return $"WRITE of {wanted} bytes claims {BinaryPrimitives.ReadUInt32LittleEndian(payload)} written";
                break;
            case FuseOpcode.Ioctl when args.Length >= 32:
                if (payload.Length < 16) return $"IOCTL answered with {payload.Length} bytes, no fuse_ioctl_out";
                bool retry = (BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]) & (uint)IoctlFlags.Retry) != 0;
                uint outSize = BinaryPrimitives.ReadUInt32LittleEndian(args[28..]);
                if (!retry && payload.Length - 16 > outSize) return $"IOCTL with out_size {outSize} answered with {payload.Length - 16} bytes of output";
                break;
        }
        return null;
    }

    /// <summary>
    /// A listing is whole fuse_dirent records (fuse_entry_out first with READDIRPLUS), 8-byte aligned, and every
    /// name one directory entry: what a file system lists is what it was let create, so a name with '/' or
    /// over NAME_MAX here got past the request reader.
    /// </summary>
    private static string? CheckListing(ReadOnlySpan<byte> payload, bool plus)
    {
        const int EntryOut = 128, DirentHeader = 24;
        int header = (plus ? EntryOut : 0) + DirentHeader;
        while (payload.Length > 0)
        {
            if (payload.Length < header) return $"listing ends in a partial record ({payload.Length} bytes)";
            int nameLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(payload[(header - 8)..]), int.MaxValue);
            int record = (header + nameLength + 7) & ~7;
            if (nameLength > payload.Length - header || record > payload.Length) return $"listing record of name length {nameLength} overruns the reply";
            var name = payload.Slice(header, nameLength);
            if (nameLength == 0 || nameLength > 255 || name.Contains((byte)'/') || name.Contains((byte)0))
                return $"listing holds the invalid name '{System.Text.Encoding.UTF8.GetString(name)}' ({nameLength} bytes)";
            payload = payload[record..];
        }
        return null;
    }
}
