using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Soup.Merging.Checkpoints;

/// <summary>The validated content of a safetensors header: tensors in data order, and the metadata.</summary>
internal sealed record SafetensorsHeader(IReadOnlyList<TensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Parses and validates a safetensors header with the rules of the reference implementation
/// (huggingface/safetensors): length limit, UTF-8 JSON object, known dtypes, sizes that match the shapes,
/// contiguous data from offset 0 to the end of the file.
/// </summary>
internal static class SafetensorsHeaderReader
{
    /// <summary>The size of the little-endian u64 that precedes the header.</summary>
    public const int LengthPrefixSize = 8;

    /// <summary>The largest header the reference implementation accepts, in bytes.</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The reserved header key that holds the string-to-string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Validates the 8-byte prefix against the total length and returns the header length N.</summary>
    public static int ReadHeaderLength(ReadOnlySpan<byte> prefix, long totalLength, string source)
    {
        if (totalLength < LengthPrefixSize)
        {
            throw Fail(source, null, $"it is {totalLength} bytes long, shorter than the 8-byte header length prefix");
        }

        var length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length > MaxHeaderLength)
        {
            throw Fail(source, null, $"the header length {length} exceeds the limit of {MaxHeaderLength} bytes");
        }

        if ((long)length > totalLength - LengthPrefixSize)
        {
            throw Fail(source, null, $"the header length {length} runs past the end of the data ({totalLength} bytes in all)");
        }

        return (int)length;
    }

    /// <summary>Parses the JSON header and checks it against the number of data bytes that follow it.</summary>
    public static SafetensorsHeader Parse(ReadOnlyMemory<byte> json, long dataLength, string source)
    {
        // The format: the header "must begin with a '{' character" (no leading whitespace or byte-order mark).
        if (json.Length == 0 || json.Span[0] != (byte)'{')
        {
            throw Fail(source, null, json.Length == 0 ? "the header is empty; it must be a JSON object beginning with '{'" : $"the header must be a JSON object beginning with '{{', not byte 0x{json.Span[0]:X2}");
        }

        if (!Utf8.IsValid(json.Span))
        {
            throw Fail(source, null, "the header is not valid UTF-8");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw Fail(source, null, $"the header is not valid JSON ({ex.Message})", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Fail(source, null, $"the header must be a JSON object, not {document.RootElement.ValueKind}");
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<TensorInfo>();
            IReadOnlyDictionary<string, string>? metadata = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw Fail(source, property.Name, "the name appears more than once in the header (duplicate names are not allowed)");
                }

                if (property.Name == MetadataKey)
                {
                    metadata = ParseMetadata(property.Value, source);
                }
                else
                {
                    tensors.Add(ParseTensor(property.Name, property.Value, source));
                }
            }

            var ordered = tensors.OrderBy(t => t.DataBegin).ThenBy(t => t.DataEnd).ToArray();
            CheckLayout(ordered, dataLength, source);
            return new SafetensorsHeader(ordered, metadata ?? new Dictionary<string, string>());
        }
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement value, string source)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (value.ValueKind == JsonValueKind.Null)
        {
            return metadata;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(source, null, $"{MetadataKey} must be a JSON object mapping strings to strings, not {value.ValueKind}");
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Fail(source, null, $"{MetadataKey} values must be strings, but key '{entry.Name}' holds a {entry.Value.ValueKind}");
            }

            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw Fail(source, null, $"{MetadataKey} key '{entry.Name}' appears more than once");
            }
        }

        return metadata;
    }

    private static TensorInfo ParseTensor(string name, JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(source, name, $"the entry must be a JSON object with dtype, shape and data_offsets, not {value.ValueKind}");
        }

        JsonElement? dtypeField = null, shapeField = null, offsetsField = null;
        foreach (var field in value.EnumerateObject())
        {
            ref var slot = ref dtypeField;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeField; break;
                case "shape": slot = ref shapeField; break;
                case "data_offsets": slot = ref offsetsField; break;
                default: continue; // The reference implementation ignores unknown fields.
            }

            if (slot is not null)
            {
                throw Fail(source, name, $"field '{field.Name}' appears more than once");
            }

            slot = field.Value;
        }

        var dtype = ParseDtype(dtypeField ?? throw Missing("dtype"), name, source);
        var shape = ParseIntegers(shapeField ?? throw Missing("shape"), "shape", null, name, source);
        var offsets = ParseIntegers(offsetsField ?? throw Missing("data_offsets"), "data_offsets", 2, name, source);
        return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);

        SafetensorsFormatException Missing(string field) => Fail(source, name, $"the entry lacks the required field '{field}'");
    }

    private static SafetensorsDtype ParseDtype(JsonElement value, string name, string source)
    {
        var text = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
        return SafetensorsDtypes.TryParseHeaderName(text, out var dtype)
            ? dtype
            : throw Fail(source, name, $"unknown dtype {value.GetRawText()} (supported: {string.Join(", ", SafetensorsDtypes.All)})");
    }

    private static long[] ParseIntegers(JsonElement value, string field, int? count, string name, string source)
    {
        var rule = count is { } n ? $"an array of {n} non-negative integers" : "an array of non-negative integers";
        if (value.ValueKind != JsonValueKind.Array || (count is not null && value.GetArrayLength() != count))
        {
            throw Fail(source, name, $"'{field}' must be {rule}, found {value.GetRawText()}");
        }

        var result = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Number && !item.TryGetInt64(out _) && item.TryGetUInt64(out var huge))
            {
                // A whole number past 2^63 - 1 is not negative: it is larger than any file.
                throw Fail(source, name, $"'{field}' holds {huge}, larger than any file can be (at most {long.MaxValue})");
            }

            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var number) || number < 0)
            {
                throw Fail(source, name, $"'{field}' must be {rule}, found {value.GetRawText()}");
            }

            result[i++] = number;
        }

        return result;
    }

    private static void CheckLayout(IReadOnlyList<TensorInfo> ordered, long dataLength, string source)
    {
        long position = 0;
        string? previous = null;
        foreach (var tensor in ordered)
        {
            var (begin, end) = (tensor.DataBegin, tensor.DataEnd);
            var offsets = $"data_offsets [{begin}, {end}]";
            if (end < begin)
            {
                throw Fail(source, tensor.Name, $"{offsets} end before they begin");
            }

            if (begin > position)
            {
                var after = previous is null ? "the data buffer starts at byte 0" : $"the previous tensor '{previous}' ends at byte {position}";
                throw Fail(source, tensor.Name, $"{offsets} leave a gap: {after} (tensors must be contiguous)");
            }

            if (begin < position)
            {
                throw Fail(source, tensor.Name, $"{offsets} overlap the previous tensor '{previous}', which ends at byte {position}");
            }

            var expected = ExpectedByteLength(tensor, source);
            if (end - begin != expected)
            {
                throw Fail(source, tensor.Name,
                    $"{offsets} span {end - begin} bytes, but dtype {tensor.Dtype} with shape {tensor.ShapeText} needs {expected} bytes");
            }

            position = end;
            previous = tensor.Name;
        }

        if (position < dataLength)
        {
            throw Fail(source, previous, $"the tensors end at data byte {position}, but {dataLength - position} trailing bytes follow (the data must end exactly at the end of the file)");
        }

        if (position > dataLength)
        {
            throw Fail(source, previous, $"the tensors need {position} data bytes, but only {dataLength} follow the header (the data is truncated)");
        }
    }

    private static long ExpectedByteLength(TensorInfo tensor, string source)
    {
        try
        {
            return SafetensorsHeaderWriter.ByteLength(tensor.Dtype, tensor.Shape);
        }
        catch (OverflowException ex)
        {
            throw Fail(source, tensor.Name, $"the byte size of dtype {tensor.Dtype} with shape {tensor.ShapeText} overflows a 64-bit integer", ex);
        }
    }

    private static SafetensorsFormatException Fail(string source, string? tensor, string rule, Exception? inner = null) =>
        new(source, tensor, rule, inner);
}
