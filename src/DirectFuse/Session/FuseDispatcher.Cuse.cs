using System.Runtime.InteropServices;
using DirectFuse.LowLevel;
using DirectFuse.Protocol;

namespace DirectFuse.Session;

// CUSE: CUSE_INIT (the device's name and number instead of a mount) and unrestricted IOCTL with the
// FUSE_IOCTL_RETRY round trip. Everything else on a CUSE channel is ordinary FUSE file I/O.
internal sealed partial class FuseDispatcher
{
    /// <summary>cuse_init_in/out flag: ioctls are not restricted to the sizes in the command number.</summary>
    public const uint CuseUnrestrictedIoctl = 1;
    /// <summary>FUSE_IOCTL_MAX_IOV: the kernel's limit of in plus out ranges in one retry.</summary>
    private const int MaxIoctlIovecs = 256;
    /// <summary>Since protocol 7.11 CUSE exists; the kernel refuses an older minor in the reply.</summary>
    private const uint CuseOldestMinor = 11;

    internal static ValueTask CuseInit(FuseDispatcher d, FuseRequest r)
    {
        // CUSE_INIT on a FUSE channel, or a second one: a protocol error, and set-up does not run again.
        if (d.Core.Cuse is not { } cuse || !d.Core.TryBeginInit())
        {
            d.Core.LogUnexpectedInit(r.Opcode.ToString());
            r.ReplyError(EPROTO);
            return ValueTask.CompletedTask;
        }
        var a = r.Arg<CuseInitIn>();
        // CUSE has no version renegotiation: the kernel drops the device unless major is its own.
        if (a.Major != ProtocolMajor || a.Minor < CuseOldestMinor)
        {
            d.Core.AbandonInit();
            d.Core.LogUnsupportedKernel(a.Major, a.Minor);
            r.ReplyError(EPROTO);
            return ValueTask.CompletedTask;
        }
        var c = d.Connection;
        c.KernelMajor = a.Major;
        c.KernelMinor = a.Minor;
        c.ProtocolMinor = Math.Min(a.Minor, ProtocolMinor);
        c.MaxWrite = (uint)(d.Core.Pool.InSize - 4096);
        c.Negotiated = LowLevel.InitFlags.None;
        try
        {
            cuse.CuseInit(c);
        }
        catch (Exception e)
        {
            d.Core.FailInit(e);
            throw; // logged and answered with an error like any handler's exception
        }
        var reply = new CuseInitOut
        {
            Major = ProtocolMajor,
            Minor = ProtocolMinor,
            Flags = cuse.UnrestrictedIoctl ? a.Flags & CuseUnrestrictedIoctl : 0,
            // READ replies are built in the reply buffer, which is as large as the request buffer.
            MaxRead = c.MaxWrite,
            MaxWrite = c.MaxWrite,
            DevMajor = cuse.DevMajor,
            DevMinor = cuse.DevMinor,
        };
        var strings = cuse.DeviceInfoBytes();
        var payload = r.ReplyPayload(CuseInitOut.Size + strings.Length).Span;
        payload[..CuseInitOut.Size].Clear();
        MemoryMarshal.Write(payload, in reply);
        strings.CopyTo(payload[CuseInitOut.Size..]);
        r.ReplyPayloadBytes(CuseInitOut.Size + strings.Length);
        d.Core.MarkInitialized();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// An unrestricted IOCTL: the handler either answers, or names the caller's memory it needs; then the reply
    /// is <c>fuse_ioctl_out</c> with FUSE_IOCTL_RETRY and the in/out counts, followed by the
    /// <c>fuse_ioctl_iovec</c> arrays (in first), and the kernel sends the IOCTL again with that memory.
    /// </summary>
    internal static async ValueTask CuseIoctl(FuseDispatcher d, FuseRequest r, ICuseServer cuse)
    {
        var a = r.Arg<FuseIoctlIn>();
        var input = r.ArgBytes(FuseIoctlIn.Size, (int)Math.Min(a.InSize, (uint)(r.ArgsLength - FuseIoctlIn.Size)));
        // The kernel accepts at least a page of reply data: room for the iovec arrays of a retry. out_size is
        // 32 bits and only bounds the reply: kept in long so 2^31 and more cannot turn negative.
        long room = Math.Max(a.OutSize, MaxIoctlIovecs * FuseIoctlIovec.Size);
        var payload = r.ReplyPayload((int)Math.Min(FuseIoctlOut.Size + room, int.MaxValue));
        var output = payload.Slice(FuseIoctlOut.Size, (int)Math.Min(a.OutSize, payload.Length - FuseIoctlOut.Size));
        var result = await cuse.UnrestrictedIoctlAsync(r.Context(), new LowLevel.FileHandle(a.Fh), a.Cmd, a.Arg, input, output, r.CancellationToken).ConfigureAwait(false);
        if (!result.TryGetValue(out var reply)) { r.ReplyError(result.Error); return; }
        if (reply.IsRetry)
        {
            var ins = reply.RetryIn ?? [];
            var outs = reply.RetryOut ?? [];
            if (ins.Length + outs.Length > MaxIoctlIovecs)
                throw new InvalidOperationException($"IOCTL retry names {ins.Length + outs.Length} ranges; the kernel allows {MaxIoctlIovecs}");
            var span = payload.Span;
            var header = new FuseIoctlOut { Flags = (uint)LowLevel.IoctlFlags.Retry, InIovs = (uint)ins.Length, OutIovs = (uint)outs.Length };
            MemoryMarshal.Write(span, in header);
            int at = FuseIoctlOut.Size;
            foreach (var iov in ins.Concat(outs))
            {
                var wire = new FuseIoctlIovec { Base = iov.Address, Len = iov.Length };
                MemoryMarshal.Write(span[at..], in wire);
                at += FuseIoctlIovec.Size;
            }
            r.ReplyPayloadBytes(at);
            return;
        }
        if (reply.OutLength < 0 || reply.OutLength > output.Length)
            throw new InvalidOperationException($"IOCTL: handler returned {reply.OutLength} output bytes for a {output.Length}-byte buffer");
        var done = new FuseIoctlOut { Result = reply.Result };
        MemoryMarshal.Write(payload.Span, in done);
        r.ReplyPayloadBytes(FuseIoctlOut.Size + reply.OutLength);
    }
}
