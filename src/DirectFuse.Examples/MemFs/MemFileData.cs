namespace DirectFuse.Examples.MemFs;

/// <summary>
/// The contents of a regular file: a logical size and the allocated chunks, kept sorted by chunk index so
/// holes cost nothing and SEEK_DATA/SEEK_HOLE are a binary search. Bytes of an allocated chunk past
/// <see cref="Size"/> are always zero, so growing the size never exposes stale data.
/// Not thread-safe: the file system's lock guards it.
/// </summary>
internal sealed class MemFileData
{
    public const int ChunkShift = 12;
    public const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

    private long[] _index = [];
    private byte[][] _chunks = [];
    private int _count;

    public long Size { get; private set; }

    /// <summary>Allocated chunks (what st_blocks and the capacity count).</summary>
    public int ChunkCount => _count;

    /// <summary>How many chunks a write of <paramref name="length"/> bytes at <paramref name="offset"/> would add.</summary>
    public long CountMissing(long offset, long length)
    {
        if (length <= 0) return 0;
        long first = offset >> ChunkShift, last = (offset + length - 1) >> ChunkShift;
        long present = 0;
        for (int i = LowerBound(first); i < _count && _index[i] <= last; i++) present++;
        return last - first + 1 - present;
    }

    /// <summary>Copies bytes from <paramref name="offset"/> into <paramref name="destination"/>, holes as zeros; short at the end.</summary>
    public int Read(long offset, Span<byte> destination)
    {
        if (offset >= Size) return 0;
        int total = (int)Math.Min(destination.Length, Size - offset);
        int done = 0;
        int pos = LowerBound(offset >> ChunkShift);
        while (done < total)
        {
            long at = offset + done;
            long chunk = at >> ChunkShift;
            int inChunk = (int)(at & ChunkMask);
            int n = Math.Min(total - done, ChunkSize - inChunk);
            while (pos < _count && _index[pos] < chunk) pos++;
            var dst = destination.Slice(done, n);
            if (pos < _count && _index[pos] == chunk) _chunks[pos].AsSpan(inChunk, n).CopyTo(dst);
            else dst.Clear();
            done += n;
        }
        return total;
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>, allocating chunks and growing the size.</summary>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        int done = 0;
        while (done < source.Length)
        {
            long at = offset + done;
            int inChunk = (int)(at & ChunkMask);
            int n = Math.Min(source.Length - done, ChunkSize - inChunk);
            source.Slice(done, n).CopyTo(GetOrAddChunk(at >> ChunkShift).AsSpan(inChunk, n));
            done += n;
        }
        if (offset + source.Length > Size) Size = offset + source.Length;
    }

    /// <summary>Sets the size; shrinking frees the chunks past the end and zeroes the tail of the last one.</summary>
    public void SetSize(long size)
    {
        if (size < Size)
        {
            if ((size & ChunkMask) != 0) ZeroAllocated(size, ChunkSize - (size & ChunkMask));
            long firstGone = (size + ChunkMask) >> ChunkShift;
            RemoveFrom(LowerBound(firstGone));
        }
        Size = size;
    }

    /// <summary>fallocate: allocates every chunk of the range (zero-filled); grows the size unless <paramref name="keepSize"/>.</summary>
    public void Allocate(long offset, long length, bool keepSize)
    {
        long first = offset >> ChunkShift, last = (offset + length - 1) >> ChunkShift;
        for (long c = first; c <= last; c++) GetOrAddChunk(c);
        if (!keepSize && offset + length > Size) Size = offset + length;
    }

    /// <summary>FALLOC_FL_PUNCH_HOLE: frees the chunks the range covers whole and zeroes the partial ends.</summary>
    public void PunchHole(long offset, long length)
    {
        long end = offset + length; // exclusive
        long firstWhole = (offset + ChunkMask) >> ChunkShift;
        long endWhole = end >> ChunkShift; // exclusive
        ZeroAllocated(offset, length);
        if (firstWhole < endWhole)
        {
            int from = LowerBound(firstWhole), to = LowerBound(endWhole);
            RemoveRange(from, to - from);
        }
    }

    /// <summary>Zeroes the range where it is allocated; holes stay holes.</summary>
    public void ZeroAllocated(long offset, long length)
    {
        long end = length > long.MaxValue - offset ? long.MaxValue : offset + length;
        for (int i = LowerBound(offset >> ChunkShift); i < _count; i++)
        {
            long chunkStart = _index[i] << ChunkShift;
            if (chunkStart >= end) break;
            long from = Math.Max(offset, chunkStart), to = Math.Min(end, chunkStart + ChunkSize);
            _chunks[i].AsSpan((int)(from - chunkStart), (int)(to - from)).Clear();
        }
    }

    /// <summary>Grows the size to <paramref name="size"/> if it is smaller (the new range reads as a hole).</summary>
    public void ExtendTo(long size)
    {
        if (size > Size) Size = size;
    }

    /// <summary>The allocated bytes of the chunk holding <paramref name="offset"/>, or an empty span for a hole.</summary>
    public ReadOnlySpan<byte> ChunkAt(long offset)
    {
        int i = LowerBound(offset >> ChunkShift);
        return i < _count && _index[i] == offset >> ChunkShift ? _chunks[i] : default;
    }

    /// <summary>SEEK_DATA: the first data offset at or after <paramref name="offset"/>, or -1 (ENXIO).</summary>
    public long SeekData(long offset)
    {
        if (offset >= Size) return -1;
        int i = LowerBound(offset >> ChunkShift);
        if (i == _count) return -1;
        long start = Math.Max(offset, _index[i] << ChunkShift);
        return start < Size ? start : -1;
    }

    /// <summary>SEEK_HOLE: the first hole offset at or after <paramref name="offset"/> (the end of file counts), or -1 (ENXIO).</summary>
    public long SeekHole(long offset)
    {
        if (offset >= Size) return -1;
        long chunk = offset >> ChunkShift;
        for (int i = LowerBound(chunk); i < _count && _index[i] == chunk; i++) chunk++;
        return Math.Min(Math.Max(offset, chunk << ChunkShift), Size);
    }

    /// <summary>Drops all data (the node is being freed).</summary>
    public void Clear()
    {
        _index = [];
        _chunks = [];
        _count = 0;
        Size = 0;
    }

    private byte[] GetOrAddChunk(long chunk)
    {
        int i = LowerBound(chunk);
        if (i < _count && _index[i] == chunk) return _chunks[i];
        if (_count == _index.Length)
        {
            int capacity = Math.Max(4, _count * 2);
            Array.Resize(ref _index, capacity);
            Array.Resize(ref _chunks, capacity);
        }
        if (i < _count)
        {
            Array.Copy(_index, i, _index, i + 1, _count - i);
            Array.Copy(_chunks, i, _chunks, i + 1, _count - i);
        }
        var data = new byte[ChunkSize];
        _index[i] = chunk;
        _chunks[i] = data;
        _count++;
        return data;
    }

    private void RemoveFrom(int from) => RemoveRange(from, _count - from);

    private void RemoveRange(int from, int n)
    {
        if (n <= 0) return;
        Array.Copy(_index, from + n, _index, from, _count - from - n);
        Array.Copy(_chunks, from + n, _chunks, from, _count - from - n);
        Array.Clear(_chunks, _count - n, n); // let the freed chunks be collected
        _count -= n;
    }

    /// <summary>The position of the first allocated chunk with index ≥ <paramref name="chunk"/>.</summary>
    private int LowerBound(long chunk)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_index[mid] < chunk) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
