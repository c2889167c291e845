using System.Globalization;

using Soup.Merging;

using Soup.Merging.Engine;

namespace Soup.Benchmarks;

/// <summary>
/// The machine's CPU accounting between two readings of <c>/proc/stat</c> (Linux): how much of the cores' time was busy,
/// idle, or stolen by the hypervisor for other guests. Benchmarks print it beside their figures, because on a shared
/// virtual machine a run whose cores were stolen a fifth of the time is slower for reasons outside the product.
/// </summary>
/// <param name="Busy">Ticks spent running (user, nice, system, interrupts).</param>
/// <param name="Idle">Ticks idle or waiting for I/O.</param>
/// <param name="Steal">Ticks stolen by the hypervisor.</param>
public readonly record struct HostCpu(long Busy, long Idle, long Steal)
{
    /// <summary>The share of all ticks stolen by the hypervisor (0 when no ticks passed).</summary>
    public double StealShare => Total == 0 ? 0 : (double)Steal / Total;

    /// <summary>The share of all ticks spent running.</summary>
    public double BusyShare => Total == 0 ? 0 : (double)Busy / Total;

    private long Total => Busy + Idle + Steal;

    /// <summary>The ticks between <paramref name="earlier"/> and <paramref name="later"/>.</summary>
    public static HostCpu operator -(HostCpu later, HostCpu earlier) =>
        new(later.Busy - earlier.Busy, later.Idle - earlier.Idle, later.Steal - earlier.Steal);

    /// <summary>Reads the machine's totals now; null where there is no <c>/proc/stat</c> or it cannot be read.</summary>
    public static HostCpu? Read()
    {
        try
        {
            return File.Exists("/proc/stat") ? Parse(File.ReadLines("/proc/stat").FirstOrDefault()) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Parses the aggregate line (<c>cpu user nice system idle iowait irq softirq steal ...</c>); null when it is not one.
    /// Guest time is already counted in user time, so it is not added again.
    /// </summary>
    public static HostCpu? Parse(string? line)
    {
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields is null || fields.Length < 9 || fields[0] != "cpu")
            return null;
        var ticks = new long[8];
        for (var i = 0; i < ticks.Length; i++)
        {
            if (!long.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out ticks[i]))
                return null;
        }

        return new HostCpu(ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6], ticks[3] + ticks[4], ticks[7]);
    }
}
