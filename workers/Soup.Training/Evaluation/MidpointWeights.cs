using System.Runtime.InteropServices;
using Soup.Core.Checkpoints;

namespace Soup.Training;

/// <summary>The weight midpoint of two checkpoints of one model, for the linear connectivity check.</summary>
public static class MidpointWeights
{
    /// <summary>
    /// Returns <c>0.5 · (a + b)</c> for every floating tensor, in <paramref name="first"/>'s order and dtypes. F32, F16
    /// and BF16 are computed in float32 and rounded back to nearest even; F64 in double. Tensors that do not hold
    /// floating-point numbers (e.g. BatchNorm's <c>num_batches_tracked</c>) are <paramref name="first"/>'s, unchanged.
    /// </summary>
    /// <param name="first">The first checkpoint (A).</param>
    /// <param name="second">The second checkpoint (B): the same names, dtypes and shapes, in any order.</param>
    /// <param name="firstName">Names A in errors.</param>
    /// <param name="secondName">Names B in errors.</param>
    /// <exception cref="InvalidDataException">
    /// The two hold different tensor names, dtypes or shapes, a tensor's byte count does not match its shape, or a tensor
    /// is float8; the message names both checkpoints and the tensor.
    /// </exception>
    public static IReadOnlyList<TensorData> Compute(
        IReadOnlyList<TensorData> first, IReadOnlyList<TensorData> second, string firstName, string secondName)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var pair = $"midpoint of '{firstName}' and '{secondName}'";
        var byName = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var tensor in second)
        {
            if (!byName.TryAdd(tensor.Name, tensor))
                throw new InvalidDataException($"{pair}: tensor '{tensor.Name}' appears twice in '{secondName}'.");
        }
        if (first.Count != second.Count || first.Any(t => !byName.ContainsKey(t.Name)))
            throw new InvalidDataException($"{pair}: the two checkpoints hold different tensor names.");

        var result = new List<TensorData>(first.Count);
        foreach (var a in first)
        {
            var b = byName[a.Name];
            if (a.Dtype != b.Dtype || !a.Shape.AsSpan().SequenceEqual(b.Shape))
                throw new InvalidDataException(
                    $"{pair}: tensor '{a.Name}' is {a.Dtype} [{string.Join(", ", a.Shape)}] in '{firstName}' but {b.Dtype} [{string.Join(", ", b.Shape)}] in '{secondName}'.");
            var bytes = a.Shape.Aggregate(1L, (n, d) => n * d) * a.Dtype.ElementSize();
            if (a.Data.Length != bytes || b.Data.Length != bytes)
                throw new InvalidDataException($"{pair}: tensor '{a.Name}' should hold {bytes} bytes.");
            result.Add(a.Dtype.IsFloatingPoint() ? a with { Data = Mean(a, b.Data.Span, pair) } : a);
        }
        return result;
    }

    private static byte[] Mean(TensorData a, ReadOnlySpan<byte> b, string pair)
    {
        var output = new byte[a.Data.Length];
        var x = a.Data.Span;
        switch (a.Dtype)
        {
            case SafetensorsDtype.F32:
                Halve(MemoryMarshal.Cast<byte, float>(x), MemoryMarshal.Cast<byte, float>(b), MemoryMarshal.Cast<byte, float>(output.AsSpan()));
                break;
            case SafetensorsDtype.F64:
                Halve(MemoryMarshal.Cast<byte, double>(x), MemoryMarshal.Cast<byte, double>(b), MemoryMarshal.Cast<byte, double>(output.AsSpan()));
                break;
            case SafetensorsDtype.F16:
                Halve(MemoryMarshal.Cast<byte, Half>(x), MemoryMarshal.Cast<byte, Half>(b), MemoryMarshal.Cast<byte, Half>(output.AsSpan()));
                break;
            case SafetensorsDtype.BF16:
                HalveBFloat16(MemoryMarshal.Cast<byte, ushort>(x), MemoryMarshal.Cast<byte, ushort>(b), MemoryMarshal.Cast<byte, ushort>(output.AsSpan()));
                break;
            default:
                throw new InvalidDataException($"{pair}: tensor '{a.Name}' is {a.Dtype}, which is not averaged here.");
        }
        return output;
    }

    private static void Halve(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        for (var i = 0; i < output.Length; i++)
            output[i] = 0.5f * (a[i] + b[i]);
    }

    private static void Halve(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> output)
    {
        for (var i = 0; i < output.Length; i++)
            output[i] = 0.5 * (a[i] + b[i]);
    }

    private static void Halve(ReadOnlySpan<Half> a, ReadOnlySpan<Half> b, Span<Half> output)
    {
        for (var i = 0; i < output.Length; i++)
            output[i] = (Half)(0.5f * ((float)a[i] + (float)b[i]));
    }

    private static void HalveBFloat16(ReadOnlySpan<ushort> a, ReadOnlySpan<ushort> b, Span<ushort> output)
    {
        for (var i = 0; i < output.Length; i++)
            output[i] = ToBFloat16(0.5f * (FromBFloat16(a[i]) + FromBFloat16(b[i])));
    }

    private static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Rounds to nearest even; NaN stays a (quiet) NaN.</summary>
    private static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
            return (ushort)((bits >> 16) | 0x0040);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }
}
