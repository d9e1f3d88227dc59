namespace DirectFuse.LowLevel;

/// <summary>Seconds and nanoseconds since the Unix epoch, as the kernel keeps file times.</summary>
public readonly record struct TimeSpec(long Seconds, uint Nanoseconds)
{
    public static TimeSpec Now
    {
        get
        {
            long ticks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
            return new TimeSpec(ticks / TimeSpan.TicksPerSecond, (uint)(ticks % TimeSpan.TicksPerSecond * 100));
        }
    }

    public static TimeSpec FromDateTime(DateTime time)
    {
        long ticks = time.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks;
        return new TimeSpec(Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem), (uint)(rem * 100));
    }

    public DateTime ToDateTime() =>
        DateTime.UnixEpoch.AddTicks(Seconds * TimeSpan.TicksPerSecond + Nanoseconds / 100);

    public override string ToString() => $"{Seconds}.{Nanoseconds:D9}";
}
