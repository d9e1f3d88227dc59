using System.Buffers.Binary;
using DirectFuse.Protocol;

namespace DirectFuse.Fuzz;

/// <summary>
/// Seeded, structure-aware requests: a valid fuse_in_header with an opcode, node and argument struct laid out
/// as the kernel does, filled with values chosen to hurt (boundaries, 2^31, 2^63, names with '/', "..", 300
/// bytes, truncated or extended arguments, extensions); and byte-level mutations of such requests. It learns
/// node ids and file handles from replies, so later requests reach past "no such node".
/// </summary>
internal sealed class RequestGenerator(Random rng, bool cuse)
{
    public const int HeaderSize = 40;

    private readonly List<ulong> _nodes = cuse ? [0] : [1];
    private readonly List<ulong> _handles = [0];
    private readonly Queue<ulong> _recentUniques = new();

    private static readonly FuseOpcode[] s_opcodes = Enum.GetValues<FuseOpcode>();
    private static readonly FuseOpcode[] s_deviceOpcodes =
        [FuseOpcode.Open, FuseOpcode.Read, FuseOpcode.Write, FuseOpcode.Ioctl, FuseOpcode.Poll, FuseOpcode.Release, FuseOpcode.Flush, FuseOpcode.Fsync, FuseOpcode.Interrupt];
    private static readonly byte[][] s_goodNames = ["a"u8.ToArray(), "b"u8.ToArray(), "file"u8.ToArray(), "dir"u8.ToArray(), "user.x"u8.ToArray(), "trusted.y"u8.ToArray()];
    private static readonly uint[] s_interesting32 = [0, 1, 2, 7, 8, 255, 256, 4095, 4096, 4097, 65535, 65536, 65537, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF];
    private static readonly ulong[] s_interesting64 = [0, 1, 4095, 4096, 1UL << 31, 1UL << 32, (1UL << 62) + 1, long.MaxValue, 1UL << 63, ulong.MaxValue - 1, ulong.MaxValue];
    // OSS ioctls the example device serves, and ones nobody serves.
    private static readonly uint[] s_ioctlCommands = [0x5000, 0x5001, 0xC0045002, 0xC0045003, 0xC0045004, 0xC0045005, 0xC0045006, 0x5008, 0xC004500A, 0x8010500C, 0x8010500D, 0x800C5011, 0x800C5012, 0x5410, 0];

    /// <summary>The next request: generated, or generated and then mutated. Its unique is set by the caller.</summary>
    public byte[] Next()
    {
        var bytes = Generate();
        return rng.Next(100) < 30 ? Mutate(bytes) : bytes;
    }

    /// <summary>Remembers a unique a later INTERRUPT may name.</summary>
    public void Sent(ulong unique)
    {
        _recentUniques.Enqueue(unique);
        if (_recentUniques.Count > 32) _recentUniques.Dequeue();
    }

    /// <summary>Learns nodes and handles from a successful reply, so later requests name them.</summary>
    public void Learn(FuseOpcode opcode, ReadOnlySpan<byte> payload)
    {
        switch (opcode)
        {
            case FuseOpcode.Lookup or FuseOpcode.MkNod or FuseOpcode.MkDir or FuseOpcode.SymLink or FuseOpcode.Link when payload.Length >= 8:
                Add(_nodes, BinaryPrimitives.ReadUInt64LittleEndian(payload));
                break;
            case FuseOpcode.Create when payload.Length >= 128 + 8:
                Add(_nodes, BinaryPrimitives.ReadUInt64LittleEndian(payload));
                Add(_handles, BinaryPrimitives.ReadUInt64LittleEndian(payload[128..]));
                break;
            case FuseOpcode.Open or FuseOpcode.OpenDir when payload.Length >= 8:
                Add(_handles, BinaryPrimitives.ReadUInt64LittleEndian(payload));
                break;
        }
    }

    private static void Add(List<ulong> list, ulong value)
    {
        if (list.Contains(value)) return;
        if (list.Count >= 64) list.RemoveAt(1);
        list.Add(value);
    }

    private byte[] Generate()
    {
        FuseOpcode opcode = PickOpcode();
        var args = Args(opcode);
        byte[] extensions = rng.Next(100) < 5 ? Extension() : [];
        var bytes = new byte[HeaderSize + args.Length + extensions.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)opcode);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), Node());
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), rng.Next(4) == 0 ? U32() : 0); // uid
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), rng.Next(4) == 0 ? U32() : 0); // gid
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(32), (uint)rng.Next(1, 5000));      // pid
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(36), (ushort)(extensions.Length / 8));
        args.CopyTo(bytes, HeaderSize);
        extensions.CopyTo(bytes, HeaderSize + args.Length);
        return bytes;
    }

    private FuseOpcode PickOpcode()
    {
        int roll = rng.Next(1000);
        if (roll < 20) return (FuseOpcode)rng.Next(0, 200);              // unknown and DAX-only opcodes
        if (roll < 25) return rng.Next(2) == 0 ? FuseOpcode.Init : FuseOpcode.CuseInit;
        if (roll < 26) return FuseOpcode.Destroy;
        if (cuse && roll < 700) return s_deviceOpcodes[rng.Next(s_deviceOpcodes.Length)];
        FuseOpcode op;
        do op = s_opcodes[rng.Next(s_opcodes.Length)];
        while (op is FuseOpcode.Init or FuseOpcode.CuseInit or FuseOpcode.Destroy);
        return op;
    }

    private byte[] Args(FuseOpcode opcode)
    {
        var w = new WireWriter();
        switch (opcode)
        {
            case FuseOpcode.Lookup or FuseOpcode.Unlink or FuseOpcode.RmDir or FuseOpcode.RemoveXattr:
                w.Raw(Name());
                break;
            case FuseOpcode.Forget:
                w.U64(U64());
                break;
            case FuseOpcode.BatchForget:
                int count = rng.Next(4);
                w.U32(rng.Next(4) == 0 ? U32() : (uint)count).U32(0);
                for (int i = 0; i < count; i++) w.U64(Node()).U64(rng.Next(3) == 0 ? U64() : 1);
                break;
            case FuseOpcode.GetAttr:
                w.U32((uint)rng.Next(2)).U32(0).U64(Handle());
                break;
            case FuseOpcode.SetAttr:
                w.U32(U32()).U32(0).U64(Handle()).U64(Offset()).U64(U64()).U64(U64()).U64(U64()).U64(U64())
                 .U32(U32()).U32(U32()).U32(U32()).U32(Mode()).U32(0).U32(U32()).U32(U32()).U32(0);
                break;
            case FuseOpcode.SymLink:
                w.Raw(Name()).Raw(rng.Next(10) == 0 ? Zeroed(new byte[rng.Next(4090, 4200)]) : Name());
                break;
            case FuseOpcode.MkNod:
                w.U32(Mode()).U32(U32()).U32(0x12).U32(0).Raw(Name());
                break;
            case FuseOpcode.MkDir:
                w.U32(Mode()).U32(0x12).Raw(Name());
                break;
            case FuseOpcode.Rename:
                w.U64(Node()).Raw(Name()).Raw(Name());
                break;
            case FuseOpcode.Rename2:
                w.U64(Node()).U32(rng.Next(3) == 0 ? U32() : (uint)rng.Next(8)).U32(0).Raw(Name()).Raw(Name());
                break;
            case FuseOpcode.Link:
                w.U64(Node()).Raw(Name());
                break;
            case FuseOpcode.Open or FuseOpcode.OpenDir:
                w.U32(OpenFlags()).U32((uint)rng.Next(4));
                break;
            case FuseOpcode.Create or FuseOpcode.TmpFile:
                w.U32(OpenFlags() | 0x40).U32(Mode()).U32(0x12).U32((uint)rng.Next(4)).Raw(Name());
                break;
            case FuseOpcode.Read or FuseOpcode.ReadDir or FuseOpcode.ReadDirPlus:
                // Offset 0 often: a listing from its start holds the names the file system has.
                w.U64(Handle()).U64(rng.Next(4) == 0 ? 0 : Offset()).U32(Size()).U32(0).U64(U64()).U32(OpenFlags()).U32(0);
                break;
            case FuseOpcode.Write:
                var data = new byte[rng.Next(3) == 0 ? rng.Next(0, 70000) : rng.Next(0, 64)];
                rng.NextBytes(data);
                w.U64(Handle()).U64(Offset()).U32(rng.Next(4) == 0 ? U32() : (uint)data.Length).U32((uint)rng.Next(8)).U64(U64()).U32(OpenFlags()).U32(0).Raw(data);
                break;
            case FuseOpcode.Release or FuseOpcode.ReleaseDir:
                w.U64(Handle()).U32(OpenFlags()).U32((uint)rng.Next(4)).U64(U64());
                break;
            case FuseOpcode.Flush:
                w.U64(Handle()).U32(0).U32(0).U64(U64());
                break;
            case FuseOpcode.Fsync or FuseOpcode.FsyncDir:
                w.U64(Handle()).U32((uint)rng.Next(2)).U32(0);
                break;
            case FuseOpcode.SetXattr:
                var value = new byte[rng.Next(0, 100)];
                rng.NextBytes(value);
                w.U32(rng.Next(4) == 0 ? U32() : (uint)value.Length).U32((uint)rng.Next(4)).U32(0).U32(0).Raw(Name()).Raw(value);
                break;
            case FuseOpcode.GetXattr:
                w.U32(Size()).U32(0).Raw(Name());
                break;
            case FuseOpcode.ListXattr:
                w.U32(Size()).U32(0);
                break;
            case FuseOpcode.GetLk or FuseOpcode.SetLk or FuseOpcode.SetLkW:
                w.U64(Handle()).U64(U64()).U64(Offset()).U64(Offset()).U32(rng.Next(4) == 0 ? U32() : (uint)rng.Next(3)).U32((uint)rng.Next(5000)).U32((uint)rng.Next(2)).U32(0);
                break;
            case FuseOpcode.Access:
                w.U32((uint)rng.Next(8)).U32(0);
                break;
            case FuseOpcode.Interrupt:
                w.U64(_recentUniques.Count > 0 && rng.Next(4) != 0 ? _recentUniques.ElementAt(rng.Next(_recentUniques.Count)) : U64());
                break;
            case FuseOpcode.Ioctl:
                var input = new byte[rng.Next(3) == 0 ? rng.Next(0, 300) : rng.Next(0, 16)];
                rng.NextBytes(input);
                uint flags = rng.Next(3) == 0 ? U32() : (uint)(rng.Next(2) * 2 | rng.Next(2) * 4 | rng.Next(2) * 16); // UNRESTRICTED, RETRY, DIR
                w.U64(Handle()).U32(flags).U32(rng.Next(4) == 0 ? U32() : s_ioctlCommands[rng.Next(s_ioctlCommands.Length)])
                 .U64(U64()).U32(rng.Next(4) == 0 ? U32() : (uint)input.Length).U32(Size()).Raw(input);
                break;
            case FuseOpcode.Poll:
                w.U64(Handle()).U64(U64()).U32((uint)rng.Next(2)).U32(U32());
                break;
            case FuseOpcode.Fallocate:
                w.U64(Handle()).U64(Offset()).U64(Offset()).U32(rng.Next(3) == 0 ? U32() : (uint)rng.Next(4)).U32(0);
                break;
            case FuseOpcode.Lseek:
                w.U64(Handle()).U64(Offset()).U32((uint)rng.Next(6)).U32(0);
                break;
            case FuseOpcode.CopyFileRange or FuseOpcode.CopyFileRange64:
                w.U64(Handle()).U64(Offset()).U64(Node()).U64(Handle()).U64(Offset()).U64(Offset()).U64(rng.Next(4) == 0 ? U64() : 0);
                break;
            case FuseOpcode.NotifyReply:
                var retrieved = new byte[rng.Next(0, 64)];
                w.U64(0).U64(Offset()).U32(rng.Next(3) == 0 ? U32() : (uint)retrieved.Length).U32(0).U64(0).U64(0).Raw(retrieved);
                break;
            case FuseOpcode.Init:
                w.U32(rng.Next(4) == 0 ? U32() : 7).U32(rng.Next(4) == 0 ? U32() : (uint)rng.Next(0, 50)).U32(U32()).U32(U32()).U32(U32());
                for (int i = 0; i < 11; i++) w.U32(0);
                break;
            case FuseOpcode.CuseInit:
                w.U32(7).U32((uint)rng.Next(0, 50)).U32(0).U32(U32());
                break;
            default:
                var raw = new byte[rng.Next(0, 80)];
                rng.NextBytes(raw);
                w.Raw(raw);
                break;
        }
        var args = w.ToArray();
        // Truncated arguments: the reader must refuse them, not read past them.
        if (rng.Next(100) < 4 && args.Length > 0) return args[..rng.Next(args.Length)];
        return args;
    }

    /// <summary>A zero-terminated name: usually one a file system would take, sometimes one no kernel sends.</summary>
    private byte[] Name()
    {
        int roll = rng.Next(100);
        byte[] name = roll switch
        {
            < 70 => s_goodNames[rng.Next(s_goodNames.Length)],
            < 73 => [],
            < 76 => "."u8.ToArray(),
            < 79 => ".."u8.ToArray(),
            < 82 => "a/b"u8.ToArray(),
            < 85 => "../escaped"u8.ToArray(),
            < 88 => Filled(rng.Next(2) == 0 ? 255 : 256),
            < 90 => Filled(300),
            < 92 => [0xff, 0xfe, 0x80],   // not UTF-8
            < 94 => "/"u8.ToArray(),
            _ => RandomName(),
        };
        return [.. name, 0];
    }

    private byte[] Filled(int length)
    {
        var b = new byte[length];
        b.AsSpan().Fill((byte)('a' + rng.Next(26)));
        return b;
    }

    private byte[] RandomName()
    {
        var b = new byte[rng.Next(1, 20)];
        rng.NextBytes(b);
        for (int i = 0; i < b.Length; i++) if (b[i] == 0) b[i] = (byte)'z';
        return b;
    }

    private static byte[] Zeroed(byte[] b)
    {
        b.AsSpan().Fill((byte)'t');
        b[^1] = 0;
        return b;
    }

    private byte[] Extension()
    {
        // fuse_ext_header { u32 size; u32 type; } + fuse_supp_groups { u32 nr_groups; u32 groups[]; }
        var w = new WireWriter().U32(rng.Next(3) == 0 ? U32() : 16).U32(rng.Next(3) == 0 ? U32() : 2).U32(rng.Next(3) == 0 ? U32() : 1).U32(U32());
        return w.ToArray();
    }

    private ulong Node() => rng.Next(100) < 85 ? _nodes[rng.Next(_nodes.Count)] : U64();
    private ulong Handle() => rng.Next(100) < 80 ? _handles[rng.Next(_handles.Count)] : U64();
    private ulong Offset() => rng.Next(100) < 60 ? (ulong)rng.Next(0, 100_000) : U64();
    private uint Size() => rng.Next(100) < 60 ? (uint)rng.Next(0, 8192) : U32();
    private uint Mode() => rng.Next(100) < 80 ? (uint)(new[] { 0x8000, 0x4000, 0xA000, 0x1000, 0xC000, 0x2000, 0x6000 }[rng.Next(7)] | rng.Next(0x1000)) : U32();
    private uint OpenFlags() => rng.Next(100) < 80 ? (uint)(rng.Next(3) | new[] { 0, 0x200, 0x400, 0x800, 0x4000, 0x10000, 0x20000 }[rng.Next(7)]) : U32();

    private uint U32() => rng.Next(2) == 0 ? s_interesting32[rng.Next(s_interesting32.Length)] : (uint)rng.NextInt64(0, 1L << 32);
    private ulong U64() => rng.Next(2) == 0 ? s_interesting64[rng.Next(s_interesting64.Length)] : (ulong)rng.NextInt64() * 2 + (ulong)rng.Next(2);

    /// <summary>One to four byte-level changes; half the time the header's len is fixed up so the request gets past it.</summary>
    private byte[] Mutate(byte[] bytes)
    {
        var list = new List<byte>(bytes);
        Span<byte> b8 = stackalloc byte[8];
        int n = rng.Next(1, 5);
        for (int i = 0; i < n; i++)
        {
            int at = list.Count == 0 ? 0 : rng.Next(list.Count);
            switch (rng.Next(7))
            {
                case 0 when list.Count > 0: list[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1 when list.Count > 0: list[at] = (byte)rng.Next(256); break;
                case 2 when list.Count >= at + 4:
                    BinaryPrimitives.WriteUInt32LittleEndian(b8, U32());
                    for (int j = 0; j < 4; j++) list[at + j] = b8[j];
                    break;
                case 3 when list.Count >= at + 8:
                    BinaryPrimitives.WriteUInt64LittleEndian(b8, U64());
                    for (int j = 0; j < 8; j++) list[at + j] = b8[j];
                    break;
                case 4: list.RemoveRange(at, Math.Min(list.Count - at, rng.Next(1, 16))); break;
                case 5:
                    var extra = new byte[rng.Next(1, 32)];
                    rng.NextBytes(extra);
                    list.InsertRange(at, extra);
                    break;
                case 6 when list.Count >= 8: list[4] = (byte)rng.Next(60); list[5] = 0; list[6] = 0; list[7] = 0; break; // another opcode's layout
            }
        }
        var result = list.ToArray();
        if (result.Length >= 4 && rng.Next(2) == 0) BinaryPrimitives.WriteUInt32LittleEndian(result, (uint)result.Length);
        return result;
    }
}
