using System.Buffers;

namespace Soup.Core.Merging;

/// <summary>
/// TIES's trim step: keeps the k largest-magnitude values of a tensor and zeroes the rest, in O(n) by a two-pass radix
/// select on the magnitudes' bit patterns (no sort). Values tied at the threshold magnitude are kept lowest index first,
/// so exactly k values survive and the result does not depend on any sort's stability.
/// </summary>
internal static class MagnitudeTrim
{
    private const int Buckets = 1 << 16;

    /// <summary>The number of values TIES keeps: round(density·n) (halves away from zero), at least 1 of a non-empty tensor.</summary>
    public static int KeepCount(double density, int length) =>
        length == 0 ? 0 : (int)Math.Clamp(Math.Round(density * length, MidpointRounding.AwayFromZero), 1, length);

    /// <summary>Zeroes all but the <paramref name="keep"/> largest-magnitude values (ties at the threshold: lowest indices kept).</summary>
    public static void KeepLargest(Span<float> values, int keep)
    {
        if (keep >= values.Length)
        {
            return;
        }

        if (keep <= 0)
        {
            values.Clear();
            return;
        }

        var counts = ArrayPool<int>.Shared.Rent(Buckets);
        try
        {
            // Non-negative floats order like their bit patterns, so |v|'s bits select by magnitude (NaN counts as largest).
            var histogram = counts.AsSpan(0, Buckets);
            histogram.Clear();
            foreach (var v in values)
            {
                histogram[(int)(Key(v) >> 16)]++;
            }

            long above = 0;
            var high = FindBucket(histogram, keep, ref above);

            histogram.Clear();
            foreach (var v in values)
            {
                var key = Key(v);
                if (key >> 16 == (uint)high)
                {
                    histogram[(int)(key & 0xFFFF)]++;
                }
            }

            var low = FindBucket(histogram, keep, ref above);
            var threshold = ((uint)high << 16) | (uint)low;
            var tiesKept = keep - above;
            for (var i = 0; i < values.Length; i++)
            {
                var key = Key(values[i]);
                if (key > threshold)
                {
                    continue;
                }

                if (key == threshold && tiesKept > 0)
                {
                    tiesKept--;
                    continue;
                }

                values[i] = 0;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(counts);
        }
    }

    /// <summary>The highest bucket b with above + count(buckets ≥ b) ≥ keep; adds the counts of the buckets over b to above.</summary>
    private static int FindBucket(ReadOnlySpan<int> histogram, int keep, ref long above)
    {
        for (var bucket = histogram.Length - 1; bucket > 0; bucket--)
        {
            if (above + histogram[bucket] >= keep)
            {
                return bucket;
            }

            above += histogram[bucket];
        }

        return 0;
    }

    private static uint Key(float value) => BitConverter.SingleToUInt32Bits(value) & 0x7FFF_FFFFu;
}
