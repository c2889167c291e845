namespace Soup.Merging.Checkpoints;

/// <summary>Reads and writes the safetensors format (8-byte little-endian header length, JSON header, data).</summary>
public static class Safetensors
{
    /// <summary>
    /// Writes tensors (in the order given, contiguously) and string metadata to a stream, in the layout of the
    /// reference implementation: the header is padded with spaces so that the data starts at a multiple of 8.
    /// </summary>
    /// <param name="destination">The stream to write to; it is not flushed or closed.</param>
    /// <param name="tensors">The tensors; each one's data must be element size × product of its shape bytes.</param>
    /// <param name="metadata">The <c>__metadata__</c> map, written sorted by key; omitted when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">A name is repeated or reserved, or a tensor's data has the wrong length.</exception>
    public static void Write(Stream destination, IEnumerable<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var header = SafetensorsHeaderWriter.Encode(list.Select(t => new TensorLayout(t.Name, t.Dtype, t.Shape)), metadata);
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].Data.Length != header.Tensors[i].ByteLength)
            {
                throw new ArgumentException(
                    $"Tensor '{list[i].Name}' has {list[i].Data.Length} bytes of data, but dtype {list[i].Dtype} with shape "
                    + $"{header.Tensors[i].ShapeText} needs {header.Tensors[i].ByteLength}.",
                    nameof(tensors));
            }
        }

        destination.Write(header.Prefix);
        foreach (var tensor in list)
        {
            destination.Write(tensor.Data.Span);
        }
    }

    /// <summary>Reads a whole safetensors file held in memory. <paramref name="source"/> names it in errors.</summary>
    /// <returns>The tensors in data order; their <see cref="TensorData.Data"/> are slices of <paramref name="bytes"/>.</returns>
    /// <exception cref="SafetensorsFormatException">The bytes break a rule of the format.</exception>
    public static SafetensorsContent Read(ReadOnlyMemory<byte> bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var prefixSize = SafetensorsHeaderReader.LengthPrefixSize;
        var headerLength = SafetensorsHeaderReader.ReadHeaderLength(bytes.Span[..Math.Min(prefixSize, bytes.Length)], bytes.Length, source);
        var dataStart = prefixSize + headerLength;
        var header = SafetensorsHeaderReader.Parse(bytes.Slice(prefixSize, headerLength), bytes.Length - dataStart, source);
        var tensors = header.Tensors
            .Select(t => new TensorData(t.Name, t.Dtype, [.. t.Shape], bytes.Slice(dataStart + (int)t.DataBegin, (int)t.ByteLength)))
            .ToList();
        return new SafetensorsContent(tensors, header.Metadata);
    }
}

/// <summary>The tensors (in file order) and the <c>__metadata__</c> of a safetensors file.</summary>
public sealed record SafetensorsContent(IReadOnlyList<TensorData> Tensors, IReadOnlyDictionary<string, string> Metadata);
