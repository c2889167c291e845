using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Soup.Merging.Methods;

/// <summary>Kernels over task vectors τᵢ = θᵢ − base, shared by the methods.</summary>
internal static class TaskVectors
{
    /// <summary>
    /// Output = base + Σ scales[k]·(members[k] − base), in float. The output is written last, so it may be the base's
    /// own buffer (an in-place anchor update).
    /// </summary>
    public static void AddScaled(MergeChunk chunk, float[] baseValues, ReadOnlySpan<double> scales) =>
        AddScaled(chunk.Members, baseValues, chunk.Output, chunk.Length, scales);

    /// <summary>Output = base + Σ scales[k]·(members[k] − base), in double: the F64 twin of the float kernel.</summary>
    public static void AddScaled(Engine.MergeChunkF64 chunk, double[] baseValues, ReadOnlySpan<double> scales) =>
        AddScaled(chunk.Members, baseValues, chunk.Output, chunk.Length, scales);

    /// <summary>The kernel in the chunk's precision (scales converted to it, as the float kernel always did).</summary>
    private static void AddScaled<T>(T[][] members, T[] baseValues, T[] output, int length, ReadOnlySpan<double> scales)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var accumulator = ArrayPool<T>.Shared.Rent(length);
        var difference = ArrayPool<T>.Shared.Rent(length);
        try
        {
            var sum = accumulator.AsSpan(0, length);
            var tau = difference.AsSpan(0, length);
            var baseSpan = baseValues.AsSpan(0, length);
            sum.Clear();
            for (var k = 0; k < members.Length; k++)
            {
                if (scales[k] == 0)
                {
                    continue;
                }

                TensorPrimitives.Subtract<T>(members[k].AsSpan(0, length), baseSpan, tau);
                TensorPrimitives.MultiplyAdd<T>(tau, T.CreateTruncating(scales[k]), sum, sum);
            }

            TensorPrimitives.Add<T>(baseSpan, sum, output.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<T>.Shared.Return(difference);
            ArrayPool<T>.Shared.Return(accumulator);
        }
    }

    /// <summary>Σ xᵢ·yᵢ in double, for float or double values.</summary>
    public static double Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y)
        where T : unmanaged =>
        typeof(T) == typeof(float) ? Dot(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y))
        : typeof(T) == typeof(double) ? TensorPrimitives.Dot(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(y))
        : throw new NotSupportedException($"No dot product of {typeof(T).Name}.");

    /// <summary>Σ (aᵢ − baseᵢ)·(bᵢ − baseᵢ) in double, for float or double values.</summary>
    public static double Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> baseValues)
        where T : unmanaged =>
        typeof(T) == typeof(float) ? Dot(MemoryMarshal.Cast<T, float>(a), MemoryMarshal.Cast<T, float>(b), MemoryMarshal.Cast<T, float>(baseValues))
        : typeof(T) == typeof(double) ? Dot(MemoryMarshal.Cast<T, double>(a), MemoryMarshal.Cast<T, double>(b), MemoryMarshal.Cast<T, double>(baseValues))
        : throw new NotSupportedException($"No dot product of {typeof(T).Name}.");

    /// <summary>Σ (aᵢ − baseᵢ)·(bᵢ − baseᵢ) in double, the differences taken in double.</summary>
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> baseValues)
    {
        var i = 0;
        var sum = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= a.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                var origin = new Vector<double>(baseValues[i..]);
                sum += (new Vector<double>(a[i..]) - origin) * (new Vector<double>(b[i..]) - origin);
            }
        }

        var total = Vector.Sum(sum);
        for (; i < a.Length; i++)
        {
            total += (a[i] - baseValues[i]) * (b[i] - baseValues[i]);
        }

        return total;
    }

    /// <summary>Σ xᵢ·yᵢ accumulated in double (float products are exact in double).</summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var i = 0;
        var low = Vector<double>.Zero;
        var high = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(x[i..]), out var xLow, out var xHigh);
                Vector.Widen(new Vector<float>(y[i..]), out var yLow, out var yHigh);
                low += xLow * yLow;
                high += xHigh * yHigh;
            }
        }

        var sum = Vector.Sum(low + high);
        for (; i < x.Length; i++)
        {
            sum += (double)x[i] * y[i];
        }

        return sum;
    }

    /// <summary>Σ (aᵢ − baseᵢ)·(bᵢ − baseᵢ) accumulated in double, the differences taken in float as elsewhere.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> baseValues)
    {
        var i = 0;
        var low = Vector<double>.Zero;
        var high = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var origin = new Vector<float>(baseValues[i..]);
                Vector.Widen(new Vector<float>(a[i..]) - origin, out var aLow, out var aHigh);
                Vector.Widen(new Vector<float>(b[i..]) - origin, out var bLow, out var bHigh);
                low += aLow * bLow;
                high += aHigh * bHigh;
            }
        }

        var sum = Vector.Sum(low + high);
        for (; i < a.Length; i++)
        {
            sum += (double)(a[i] - baseValues[i]) * (b[i] - baseValues[i]);
        }

        return sum;
    }
}
