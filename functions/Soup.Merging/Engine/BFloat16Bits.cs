namespace Soup.Merging.Engine;

/// <summary>Conversions between bfloat16 (the top 16 bits of an IEEE float32) and <see cref="float"/>.</summary>
internal static class BFloat16Bits
{
    /// <summary>Widens bfloat16 bit patterns to floats; exact.</summary>
    public static void ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = BitConverter.UInt32BitsToSingle((uint)source[i] << 16);
        }
    }

    /// <summary>Narrows floats to bfloat16 with round-to-nearest-even; NaN stays NaN (made quiet).</summary>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = FromSingle(source[i]);
        }
    }

    /// <summary>Narrows one float to bfloat16 with round-to-nearest-even; NaN stays NaN (made quiet).</summary>
    public static ushort FromSingle(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        // Adding 0x7FFF rounds the upper half to nearest; the extra low bit of the result breaks ties to even.
        // Overflow carries into the exponent, which correctly rounds the largest finite values up to infinity.
        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
