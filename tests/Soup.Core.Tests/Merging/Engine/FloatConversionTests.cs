using System.Runtime.InteropServices;
using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;

namespace Soup.Core.Tests.Merging.Engine;

public sealed class FloatConversionTests
{
    [Theory]
    [InlineData(0, -1)]
    [InlineData(3, 0)]
    [InlineData(40, 7)]
    [InlineData(40, 39)]
    [InlineData(1000, 512)]
    public void CountNonFinite_FindsNaNAndInfinityAnywhere(int length, int position)
    {
        var floats = Enumerable.Range(0, length).Select(i => i % 3 == 0 ? -0f : i * 1e-40f).ToArray();
        var doubles = floats.Select(f => (double)f).ToArray();
        if (position >= 0)
        {
            floats[position] = float.NaN;
            doubles[position] = double.NegativeInfinity;
            if (position + 1 < length)
            {
                floats[position + 1] = float.PositiveInfinity;
                doubles[position + 1] = double.NaN;
            }
        }

        var expected = position < 0 ? 0 : Math.Min(2, length - position);
        Assert.Equal(expected, FloatConversion.CountNonFinite<float>(floats));
        Assert.Equal(expected, FloatConversion.CountNonFinite<double>(doubles));
    }

    [Fact]
    public void BFloat16_WidensExactlyAndNarrowsLikeBFloat16Bits()
    {
        var random = new Random(30);
        var bits = Enumerable.Range(0, 100).Select(_ => (ushort)random.Next(0, 0x7F80)).Append((ushort)0xFFC1).Append((ushort)0x8000).ToArray();
        var floats = new float[bits.Length];

        FloatConversion.ToSingle(SafetensorsDtype.BF16, MemoryMarshal.AsBytes(bits.AsSpan()), floats);
        var back = new byte[bits.Length * 2];
        FloatConversion.FromSingle(SafetensorsDtype.BF16, floats, back);

        Assert.Equal(bits.Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)), floats);
        Assert.Equal(bits, MemoryMarshal.Cast<byte, ushort>(back).ToArray());
    }

    [Fact]
    public void F64_RoundsToNearestFloatAndWidensBack()
    {
        double[] values = [1.0 + Math.Pow(2, -40), 1e300, -3.5, 0.1];
        var floats = new float[values.Length];

        FloatConversion.ToSingle(SafetensorsDtype.F64, MemoryMarshal.AsBytes(values.AsSpan()), floats);
        var back = new byte[values.Length * 8];
        FloatConversion.FromSingle(SafetensorsDtype.F64, floats, back);

        Assert.Equal(values.Select(v => (float)v), floats);
        Assert.Equal(floats.Select(f => (double)f), MemoryMarshal.Cast<byte, double>(back).ToArray());
    }
}
