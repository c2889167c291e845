using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>
/// Conversions between stored floating dtypes (F16, BF16, F32, F64; little-endian bytes) and the F32/F64 buffers merge
/// methods work on. Narrowing to BF16 is <see cref="BFloat16Bits.FromSingle(ReadOnlySpan{float}, Span{ushort})"/>
/// (round to nearest even, the one implementation); F16 uses <see cref="TensorPrimitives"/>' conversions.
/// </summary>
internal static class FloatConversion
{
    /// <summary>Whether the engine converts the dtype to floats for merge methods (F8 is not supported).</summary>
    public static bool IsMergeable(SafetensorsDtype dtype) => dtype.IsMergeable();

    /// <summary>Widens (or for F64 rounds to nearest) stored values to floats.</summary>
    public static void ToSingle(SafetensorsDtype dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case SafetensorsDtype.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case SafetensorsDtype.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case SafetensorsDtype.BF16:
                WidenBFloat16(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case SafetensorsDtype.F64:
                TensorPrimitives.ConvertTruncating<double, float>(MemoryMarshal.Cast<byte, double>(source), destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a mergeable floating dtype.");
        }
    }

    /// <summary>Writes floats as <paramref name="dtype"/> (round to nearest even when narrowing).</summary>
    public static void FromSingle(SafetensorsDtype dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        switch (dtype)
        {
            case SafetensorsDtype.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case SafetensorsDtype.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case SafetensorsDtype.BF16:
                BFloat16Bits.FromSingle(source, MemoryMarshal.Cast<byte, ushort>(destination));
                break;
            case SafetensorsDtype.F64:
                TensorPrimitives.ConvertChecked<float, double>(source, MemoryMarshal.Cast<byte, double>(destination));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a mergeable floating dtype.");
        }
    }

    /// <summary>Writes doubles as <paramref name="dtype"/>; narrower dtypes go through F32 (<paramref name="scratch"/>).</summary>
    public static void FromDouble(SafetensorsDtype dtype, ReadOnlySpan<double> source, Span<byte> destination, Span<float> scratch)
    {
        if (dtype == SafetensorsDtype.F64)
        {
            MemoryMarshal.AsBytes(source).CopyTo(destination);
            return;
        }

        var floats = scratch[..source.Length];
        TensorPrimitives.ConvertTruncating<double, float>(source, floats);
        FromSingle(dtype, floats, destination);
    }

    /// <summary>Counts NaN and ±Inf values; one vectorized pass when there are none.</summary>
    /// <remarks>Compiled fully optimized on first use (System.Numerics.Tensors is not precompiled, so its kernels start
    /// slow in a fresh process); x − x is 0 for finite x and NaN otherwise, so one sum tells whether to count.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long CountNonFinite<T>(ReadOnlySpan<T> values)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var i = 0;
        var clean = true;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && values.Length >= Vector256<T>.Count)
        {
            ref var first = ref MemoryMarshal.GetReference(values);
            var sum = Vector256<T>.Zero;
            for (; i <= values.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref first, (nuint)i);
                sum += v - v;
            }

            clean = Vector256.EqualsAll(sum, sum);
        }

        long count = 0;
        for (var j = clean ? i : 0; j < values.Length; j++)
        {
            if (!T.IsFinite(values[j]))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>bfloat16 → float is exact (a 16-bit shift); vectorized here, the scalar tail by <see cref="BFloat16Bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WidenBFloat16(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated && source.Length >= Vector256<ushort>.Count)
        {
            ref var from = ref MemoryMarshal.GetReference(source);
            ref var to = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
            ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, source.Length, nameof(destination));
            for (; i <= source.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.LoadUnsafe(ref from, (nuint)i));
                Vector256.ShiftLeft(lower, 16).StoreUnsafe(ref to, (nuint)i);
                Vector256.ShiftLeft(upper, 16).StoreUnsafe(ref to, (nuint)(i + Vector256<uint>.Count));
            }
        }

        BFloat16Bits.ToSingle(source[i..], destination[i..]);
    }
}

/// <summary>
/// A float or double array seen as <see cref="Memory{T}"/> of bytes, so that sources read straight into the buffers
/// merge methods use (no copy for F32) and sinks write straight from them. Pinning is supported at element-aligned
/// offsets only (the engine's reads and writes always are).
/// </summary>
internal sealed class ArrayBytes<T> : MemoryManager<byte>
    where T : unmanaged
{
    public ArrayBytes(T[] array) => Array = array;

    public T[] Array { get; }

    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(Array.AsSpan());

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        var size = Unsafe.SizeOf<T>();
        if (elementIndex % size != 0)
        {
            throw new NotSupportedException($"Pinning a {typeof(T).Name} buffer at byte {elementIndex}, which is not element-aligned.");
        }

        return Array.AsMemory(elementIndex / size).Pin();
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
