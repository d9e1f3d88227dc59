using System.Numerics;
using DirectFuse.DirectMmap;
using DirectFuse.Devices;

namespace DirectFuse.Examples.OssDsp;

// SNDCTL_DSP_* ioctls. Numbers and structs from <linux/soundcard.h>; unknown commands answer ENOTTY.
public sealed partial class OssDspDevice
{
    private const int MinRate = 4000, MaxRate = 192000;
    private const int SupportedFormats = Oss.AfmtU8 | Oss.AfmtS16Le;

    public override ValueTask<Result<IoctlResult>> IoctlAsync(DeviceFile file, DeviceIoctl request, CancellationToken cancellationToken)
    {
        var c = request.Command;
        if (c == Oss.Sync) return SyncAsync(file, cancellationToken);
        lock (_lock)
        {
            if (_owner != file) return new(Errno.EBADF);
            return new(Handle(file, request));
        }
    }

    private async ValueTask<Result<IoctlResult>> SyncAsync(DeviceFile file, CancellationToken cancellationToken)
    {
        await DrainAsync(file, cancellationToken).ConfigureAwait(false);
        return IoctlResult.Done();
    }

    /// <summary>Caller holds the lock.</summary>
    private Result<IoctlResult> Handle(DeviceFile file, DeviceIoctl r)
    {
        var c = r.Command;
        if (c == Oss.Reset)
        {
            ResetPlayback();
            return IoctlResult.Done();
        }
        if (c == Oss.Post) return IoctlResult.Done(); // "play what you have now": the player never waits for full fragments
        if (c == Oss.NonBlock)
        {
            file.NonBlockingByIoctl = true;
            return IoctlResult.Done();
        }
        if (c == Oss.Speed)
        {
            int rate = r.InputInt32;
            if (rate > 0) _format = _format with { Rate = Math.Clamp(rate, MinRate, MaxRate) };
            return r.ReturnInt32(_format.Rate);
        }
        if (c == Oss.Stereo)
        {
            _format = _format with { Channels = r.InputInt32 != 0 ? 2 : 1 };
            return r.ReturnInt32(_format.Channels - 1);
        }
        if (c == Oss.Channels)
        {
            int channels = r.InputInt32;
            if (channels > 0) _format = _format with { Channels = Math.Clamp(channels, 1, 2) };
            return r.ReturnInt32(_format.Channels);
        }
        if (c == Oss.SetFmt)
        {
            int want = r.InputInt32;
            if (want != Oss.AfmtQuery && (want & SupportedFormats) != 0 && BitOperations.PopCount((uint)want) == 1)
            {
                _afmt = want;
                _format = _format with { Bits = want == Oss.AfmtU8 ? 8 : 16 };
            }
            // An unsupported format is not an error in OSS: the answer is the format in force.
            return r.ReturnInt32(_afmt);
        }
        if (c == Oss.GetFmts) return r.ReturnInt32(SupportedFormats);
        if (c == Oss.GetBlkSize) return r.ReturnInt32(_fragSize);
        if (c == Oss.SetFragment)
        {
            // 0xMMMMSSSS: at most MMMM fragments of 2^SSSS bytes. Only before playback starts.
            int value = r.InputInt32;
            int shift = Math.Clamp(value & 0xFFFF, 7, 15);
            int size = 1 << shift;
            int count = Math.Clamp((value >> 16) & 0x7FFF, 2, MaxBufferSize / size);
            if (_played == 0 && _queued == 0)
            {
                _fragSize = size;
                _fragments = count;
            }
            return r.ReturnInt32((_fragments << 16) | BitOperations.Log2((uint)_fragSize));
        }
        if (c == Oss.GetOSpace)
        {
            int free = _mmapPlayback ? BufferSize : FreeBytes;
            return r.Return(new AudioBufInfo { Fragments = free / _fragSize, FragsTotal = _fragments, FragSize = _fragSize, Bytes = free });
        }
        if (c == Oss.GetISpace) return r.Return(new AudioBufInfo { FragsTotal = _fragments, FragSize = _fragSize });
        if (c == Oss.GetCaps)
        {
            int caps = 1 | Oss.CapTrigger;
            if (_buffer is not null && _buffer.Mode != DirectMmapMode.None) caps |= Oss.CapMmap | Oss.CapRealtime;
            return r.ReturnInt32(caps);
        }
        if (c == Oss.GetTrigger) return r.ReturnInt32(_outputEnabled ? Oss.PcmEnableOutput : 0);
        if (c == Oss.SetTrigger)
        {
            bool enable = (r.InputInt32 & Oss.PcmEnableOutput) != 0;
            if (enable && !_mmapPlayback && !_wroteStream && _queued == 0 && _buffer is not null && _buffer.Mode != DirectMmapMode.None)
            {
                // Enabling output with nothing written: an mmap client; the ring plays from its start.
                _mmapPlayback = true;
                _played = 0;
                _blocksReported = 0;
                _clockStarted = false;
            }
            _outputEnabled = enable;
            SignalProgress();
            return IoctlResult.Done();
        }
        if (c == Oss.GetOPtr)
        {
            long blocks = _played / _fragSize;
            var info = new CountInfo { Bytes = (int)_played, Blocks = (int)(blocks - _blocksReported), Ptr = (int)(_played % BufferSize) };
            _blocksReported = blocks;
            return r.Return(info);
        }
        if (c == Oss.GetIPtr) return r.Return(new CountInfo());
        if (c == Oss.GetODelay) return r.ReturnInt32(_mmapPlayback ? 0 : _queued);
        return Errno.ENOTTY;
    }
}
