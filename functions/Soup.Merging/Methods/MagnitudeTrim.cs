using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Soup.Merging.Methods;

/// <summary>
/// TIES's trim step: keeps the k largest-magnitude values of a tensor and zeroes the rest, in O(n) by a radix select on
/// the magnitudes' bit patterns, 16 bits per pass (2 passes for float, 4 for double; no sort). Values tied at the
/// threshold magnitude are kept lowest index first, so exactly k values survive and the result does not depend on any
/// sort's stability.
/// </summary>
internal static class MagnitudeTrim
{
    private const int DigitBits = 16;
    private const int Buckets = 1 << DigitBits;

    /// <summary>
    /// The number of values TIES keeps: ⌊density·n⌋ as mergekit computes it (<c>int(density * numel)</c>), at least 1 of a
    /// non-empty tensor (where mergekit stops with an assertion, e.g. a 1-element tensor at density 0.5, the largest is kept).
    /// </summary>
    public static int KeepCount(double density, int length) =>
        length == 0 ? 0 : density >= 1 ? length : Math.Clamp((int)(density * length), 1, length);

    /// <summary>Zeroes all but the <paramref name="keep"/> largest-magnitude values (ties at the threshold: lowest indices kept).</summary>
    public static void KeepLargest<T>(Span<T> values, int keep)
        where T : unmanaged, IFloatingPointIeee754<T>
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
            // Non-negative floats order like their bit patterns, so |v|'s bits select by magnitude (NaN counts as
            // largest). Each pass counts the next digit of the values whose higher digits match the threshold's so far.
            var histogram = counts.AsSpan(0, Buckets);
            var bits = Unsafe.SizeOf<T>() * 8;
            ulong threshold = 0;
            long above = 0;
            for (var shift = bits - DigitBits; shift >= 0; shift -= DigitBits)
            {
                histogram.Clear();
                var higher = shift + DigitBits;
                foreach (var v in values)
                {
                    var key = Key(v);
                    if (higher >= bits || key >> higher == threshold >> higher)
                    {
                        histogram[(int)((key >> shift) & (Buckets - 1))]++;
                    }
                }

                threshold |= (ulong)FindBucket(histogram, keep, ref above) << shift;
            }

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

                values[i] = T.Zero;
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

    /// <summary>The magnitude's bit pattern (the sign bit cleared).</summary>
    private static ulong Key<T>(T value)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return BitConverter.SingleToUInt32Bits(Unsafe.BitCast<T, float>(value)) & 0x7FFF_FFFFu;
        }

        if (typeof(T) == typeof(double))
        {
            return BitConverter.DoubleToUInt64Bits(Unsafe.BitCast<T, double>(value)) & 0x7FFF_FFFF_FFFF_FFFFul;
        }

        throw new NotSupportedException($"No magnitude key for {typeof(T).Name}.");
    }
}
