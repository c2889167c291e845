using System.Globalization;

using Soup.Merging;

using Soup.Merging.Engine;

namespace Soup.Benchmarks;

/// <summary>
/// Measures this process's peak resident memory over a span of time. On Linux it resets the kernel's high-water mark
/// (<c>5 &gt; /proc/self/clear_refs</c>) and reads <c>VmHWM</c> at the end; elsewhere it samples the working set
/// every 10 ms.
/// </summary>
public sealed class PeakMemoryProbe : IDisposable
{
    private readonly bool _kernelMark;
    private readonly Timer? _timer;
    private long _sampled;

    private PeakMemoryProbe()
    {
        _kernelMark = TryResetHighWaterMark();
        _sampled = Environment.WorkingSet;
        StartRss = _sampled;
        if (!_kernelMark)
        {
            _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(10));
        }
    }

    /// <summary>Starts measuring from now.</summary>
    public static PeakMemoryProbe Start() => new();

    /// <summary>The resident memory when the probe started, in bytes.</summary>
    public long StartRss { get; }

    /// <summary>The peak so far, in bytes.</summary>
    public long Peak()
    {
        Sample();
        return _kernelMark && ReadHighWaterMark() is { } mark ? Math.Max(mark, Interlocked.Read(ref _sampled)) : Interlocked.Read(ref _sampled);
    }

    /// <inheritdoc />
    public void Dispose() => _timer?.Dispose();

    private void Sample()
    {
        var now = Environment.WorkingSet;
        long seen;
        while (now > (seen = Interlocked.Read(ref _sampled)) && Interlocked.CompareExchange(ref _sampled, now, seen) != seen)
        {
        }
    }

    private static bool TryResetHighWaterMark()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return ReadHighWaterMark() is not null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    private static long? ReadHighWaterMark()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not Linux.
        }

        return null;
    }
}
