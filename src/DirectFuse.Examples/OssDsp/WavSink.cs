using System.Buffers.Binary;

namespace DirectFuse.Examples.OssDsp;

/// <summary>
/// Where played samples go: a WAV file whose header is rewritten after every chunk (so the file is valid
/// while it grows and after a crash), and optionally a raw PCM stream such as standard output.
/// </summary>
public sealed class WavSink : IDisposable
{
    private const int HeaderSize = 44;
    private readonly FileStream? _wav;
    private readonly Stream? _raw;
    private readonly Lock _lock = new();
    private PcmFormat? _format;
    private long _dataBytes;

    public WavSink(string? wavPath, Stream? raw = null)
    {
        if (wavPath is not null) _wav = new FileStream(wavPath, FileMode.Create, FileAccess.Write, FileShare.Read);
        _raw = raw;
    }

    /// <summary>The format of the WAV data (the first format played; the header has only one).</summary>
    public PcmFormat? Format { get { lock (_lock) return _format; } }
    public long DataBytes { get { lock (_lock) return _dataBytes; } }

    /// <summary>Raised when samples arrive in another format than the file's first one (they are appended as they are).</summary>
    public event Action<PcmFormat, PcmFormat>? FormatMismatch;

    public void Write(ReadOnlySpan<byte> pcm, PcmFormat format)
    {
        if (pcm.IsEmpty) return;
        lock (_lock)
        {
            if (_format is null) _format = format;
            else if (_format != format) FormatMismatch?.Invoke(_format.Value, format);
            if (_wav is not null)
            {
                _wav.Position = HeaderSize + _dataBytes;
                _wav.Write(pcm);
                _dataBytes += pcm.Length;
                WriteHeader();
                _wav.Flush();
            }
            else _dataBytes += pcm.Length;
            if (_raw is not null)
            {
                _raw.Write(pcm);
                _raw.Flush();
            }
        }
    }

    private void WriteHeader()
    {
        var f = _format!.Value;
        Span<byte> h = stackalloc byte[HeaderSize];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)Math.Min(uint.MaxValue, 36 + _dataBytes));
        "WAVE"u8.CopyTo(h[8..]);
        "fmt "u8.CopyTo(h[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h[20..], 1); // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(h[22..], (ushort)f.Channels);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)f.Rate);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], (uint)f.BytesPerSecond);
        BinaryPrimitives.WriteUInt16LittleEndian(h[32..], (ushort)f.FrameSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[34..], (ushort)f.Bits);
        "data"u8.CopyTo(h[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[40..], (uint)Math.Min(uint.MaxValue - 36, _dataBytes));
        _wav!.Position = 0;
        _wav.Write(h);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_wav is not null && _format is null)
            {
                // Nothing was played: still leave a valid (empty) WAV file.
                _format = new PcmFormat(8000, 1, 8);
                WriteHeader();
            }
            _wav?.Dispose();
        }
    }
}
