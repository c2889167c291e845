using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Soup.Core.Checkpoints;

/// <summary>
/// The averaging kernel for one chunk of one tensor: add every member's bytes, then write the mean.
/// F16, BF16 and F32 accumulate in F32; F64 accumulates in F64; other dtypes must be byte-equal.
/// </summary>
internal sealed class MeanAccumulator
{
    private readonly float[] _sum;
    private readonly float[] _widened;
    private readonly byte[] _first;
    private double[]? _sum64;
    private SafetensorsDtype _dtype;
    private int _count;
    private int _added;

    /// <summary>Creates buffers for chunks of up to <paramref name="capacity"/> elements.</summary>
    public MeanAccumulator(int capacity)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Safetensors data is little-endian; this merge needs a little-endian machine.");
        }

        _sum = new float[capacity];
        _widened = new float[capacity];
        _first = new byte[capacity * sizeof(double)];
    }

    /// <summary>Whether the dtype is averaged; the others must be equal across members.</summary>
    public static bool Averages(SafetensorsDtype dtype) =>
        dtype is SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.F32 or SafetensorsDtype.F64;

    /// <summary>Starts a chunk of <paramref name="count"/> elements of <paramref name="dtype"/>.</summary>
    public void Begin(SafetensorsDtype dtype, int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _sum.Length);
        _dtype = dtype;
        _count = count;
        _added = 0;
    }

    /// <summary>Adds one member's bytes for the chunk.</summary>
    /// <returns><see langword="false"/> when a non-averaged dtype's bytes differ from the first member's.</returns>
    public bool Add(ReadOnlySpan<byte> bytes)
    {
        var first = _added++ == 0;
        switch (_dtype)
        {
            case SafetensorsDtype.F64:
                var sum64 = (_sum64 ??= new double[_sum.Length]).AsSpan(0, _count);
                Accumulate(MemoryMarshal.Cast<byte, double>(bytes), sum64, first);
                return true;
            case SafetensorsDtype.F32:
                Accumulate(MemoryMarshal.Cast<byte, float>(bytes), _sum.AsSpan(0, _count), first);
                return true;
            case SafetensorsDtype.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), _widened.AsSpan(0, _count));
                Accumulate<float>(_widened.AsSpan(0, _count), _sum.AsSpan(0, _count), first);
                return true;
            case SafetensorsDtype.BF16:
                BFloat16Bits.ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), _widened.AsSpan(0, _count));
                Accumulate<float>(_widened.AsSpan(0, _count), _sum.AsSpan(0, _count), first);
                return true;
            default:
                var firstBytes = _first.AsSpan(0, bytes.Length);
                if (first)
                {
                    bytes.CopyTo(firstBytes);
                    return true;
                }

                return bytes.SequenceEqual(firstBytes);
        }
    }

    /// <summary>Writes the mean of the members added since <see cref="Begin"/>, in the chunk's dtype.</summary>
    public void WriteMean(Span<byte> destination)
    {
        switch (_dtype)
        {
            case SafetensorsDtype.F64:
                TensorPrimitives.Divide(_sum64.AsSpan(0, _count), _added, MemoryMarshal.Cast<byte, double>(destination));
                break;
            case SafetensorsDtype.F32:
                TensorPrimitives.Divide(_sum.AsSpan(0, _count), _added, MemoryMarshal.Cast<byte, float>(destination));
                break;
            case SafetensorsDtype.F16:
                TensorPrimitives.Divide(_sum.AsSpan(0, _count), _added, _sum.AsSpan(0, _count));
                TensorPrimitives.ConvertToHalf(_sum.AsSpan(0, _count), MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case SafetensorsDtype.BF16:
                TensorPrimitives.Divide(_sum.AsSpan(0, _count), _added, _sum.AsSpan(0, _count));
                BFloat16Bits.FromSingle(_sum.AsSpan(0, _count), MemoryMarshal.Cast<byte, ushort>(destination));
                break;
            default:
                _first.AsSpan(0, destination.Length).CopyTo(destination);
                break;
        }
    }

    private static void Accumulate<T>(ReadOnlySpan<T> values, Span<T> sum, bool first)
        where T : IAdditionOperators<T, T, T>, IAdditiveIdentity<T, T>
    {
        if (first)
        {
            values.CopyTo(sum);
        }
        else
        {
            TensorPrimitives.Add(sum, values, sum);
        }
    }
}
