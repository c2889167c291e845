using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

/// <summary>Builders for tensors and for raw (possibly malformed) safetensors bytes, written without the code under test.</summary>
internal static class TestTensors
{
    public static TensorData F32(string name, long[] shape, float[] values) =>
        new(name, SafetensorsDtype.F32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static TensorData F16(string name, long[] shape, Half[] values) =>
        new(name, SafetensorsDtype.F16, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static TensorData BF16(string name, long[] shape, ushort[] bits) =>
        new(name, SafetensorsDtype.BF16, shape, MemoryMarshal.AsBytes(bits.AsSpan()).ToArray());

    public static TensorData I64(string name, long[] shape, long[] values) =>
        new(name, SafetensorsDtype.I64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static float[] RandomFloats(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 2) - 1).ToArray();

    public static float[] AsFloats(ReadOnlyMemory<byte> bytes) => MemoryMarshal.Cast<byte, float>(bytes.Span).ToArray();

    public static void WriteFile(string path, IEnumerable<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = File.Create(path);
        Safetensors.Write(stream, tensors, metadata);
    }

    /// <summary>8-byte little-endian length of the header, the header's UTF-8 bytes, then <paramref name="dataLength"/> bytes.</summary>
    public static byte[] Raw(string header, int dataLength) => Raw(Encoding.UTF8.GetBytes(header), dataLength);

    /// <summary>8-byte little-endian length of the header, the header bytes, then <paramref name="dataLength"/> bytes.</summary>
    public static byte[] Raw(byte[] header, int dataLength, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (var i = 8 + header.Length; i < bytes.Length; i++)
        {
            bytes[i] = (byte)i;
        }

        return bytes;
    }
}
