using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Soup.Merging.Checkpoints;

/// <summary>A tensor to be written: its name, dtype and shape, before offsets are assigned.</summary>
internal readonly record struct TensorLayout(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape);

/// <summary>The bytes that precede the data buffer (length prefix, JSON, space padding) and the tensors' offsets.</summary>
internal sealed record EncodedHeader(byte[] Prefix, IReadOnlyList<TensorInfo> Tensors)
{
    /// <summary>The number of bytes in the data buffer.</summary>
    public long DataLength => Tensors.Count == 0 ? 0 : Tensors[^1].DataEnd;
}

/// <summary>
/// Writes a safetensors header the way the reference implementation does: compact JSON with
/// <c>__metadata__</c> first, then the tensors in data order, padded with spaces to a multiple of 8 bytes.
/// </summary>
internal static class SafetensorsHeaderWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>The byte size of a tensor: element size × product of the shape, checked.</summary>
    /// <exception cref="OverflowException">The size does not fit in a <see cref="long"/>.</exception>
    public static long ByteLength(SafetensorsDtype dtype, IReadOnlyList<long> shape)
    {
        long elements = 1;
        foreach (var dimension in shape)
        {
            elements = checked(elements * dimension);
        }

        return checked(elements * dtype.ElementSize());
    }

    /// <summary>Assigns contiguous offsets in the order given and encodes the header.</summary>
    /// <exception cref="ArgumentException">A name is repeated or reserved, a dimension is negative, or a size overflows.</exception>
    public static EncodedHeader Encode(IEnumerable<TensorLayout> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var infos = new List<TensorInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, dtype, shape) in tensors)
        {
            ArgumentNullException.ThrowIfNull(name);
            if (name == SafetensorsHeaderReader.MetadataKey || !names.Add(name))
            {
                throw new ArgumentException($"Tensor name '{name}' is reserved or appears more than once.", nameof(tensors));
            }

            if (shape.Any(d => d < 0))
            {
                throw new ArgumentException($"Tensor '{name}' has a negative dimension in shape {TensorInfo.FormatShape(shape)}.", nameof(tensors));
            }

            try
            {
                var end = checked(offset + ByteLength(dtype, shape));
                infos.Add(new TensorInfo(name, dtype, shape.ToArray(), offset, end));
                offset = end;
            }
            catch (OverflowException ex)
            {
                throw new ArgumentException($"Tensor '{name}' with shape {TensorInfo.FormatShape(shape)} is too large.", nameof(tensors), ex);
            }
        }

        return new EncodedHeader(EncodePrefix(infos, metadata), infos);
    }

    private static byte[] EncodePrefix(IReadOnlyList<TensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json, Options))
        {
            writer.WriteStartObject();
            if (metadata is not null)
            {
                writer.WriteStartObject(SafetensorsHeaderReader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            foreach (var tensor in tensors)
            {
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.Dtype.ToHeaderName());
                writer.WriteStartArray("shape");
                foreach (var dimension in tensor.Shape)
                {
                    writer.WriteNumberValue(dimension);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(tensor.DataBegin);
                writer.WriteNumberValue(tensor.DataEnd);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        var padded = (json.WrittenCount + 7) / 8 * 8;
        if (padded > SafetensorsHeaderReader.MaxHeaderLength)
        {
            throw new ArgumentException($"The header would be {padded} bytes, over the limit of {SafetensorsHeaderReader.MaxHeaderLength}.", nameof(tensors));
        }

        var prefix = new byte[SafetensorsHeaderReader.LengthPrefixSize + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        json.WrittenSpan.CopyTo(prefix.AsSpan(SafetensorsHeaderReader.LengthPrefixSize));
        prefix.AsSpan(SafetensorsHeaderReader.LengthPrefixSize + json.WrittenCount).Fill((byte)' ');
        return prefix;
    }
}
