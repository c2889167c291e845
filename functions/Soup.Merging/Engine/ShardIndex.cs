using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Soup.Merging.Engine;

/// <summary>
/// The Hugging Face index of a sharded safetensors checkpoint (<c>model.safetensors.index.json</c>):
/// <c>{"metadata": {"total_size": …}, "weight_map": {tensor name: shard file name}}</c>.
/// </summary>
public static class ShardIndex
{
    /// <summary>The default name of a single-file checkpoint.</summary>
    public const string DefaultFileName = "model.safetensors";

    /// <summary>The index's name for a checkpoint named <paramref name="fileName"/> (<c>model.safetensors.index.json</c>).</summary>
    public static string IndexFileName(string fileName) => fileName + ".index.json";

    /// <summary>The name of shard <paramref name="shard"/> (1-based) of <paramref name="count"/>: <c>model-00001-of-00003.safetensors</c>.</summary>
    public static string ShardFileName(string fileName, int shard, int count)
    {
        var stem = fileName.EndsWith(".safetensors", StringComparison.Ordinal) ? fileName[..^".safetensors".Length] : fileName;
        return string.Create(CultureInfo.InvariantCulture, $"{stem}-{shard:D5}-of-{count:D5}.safetensors");
    }

    /// <summary>Reads the weight map: each tensor name and the file name of the shard that holds it.</summary>
    /// <param name="json">The index's bytes.</param>
    /// <param name="source">The index's name, for messages.</param>
    /// <exception cref="InvalidDataException">The index is not valid JSON, has no <c>weight_map</c> object, or names a shard
    /// with a path (shards must sit next to the index).</exception>
    public static IReadOnlyDictionary<string, string> ReadWeightMap(ReadOnlyMemory<byte> json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Invalid shard index '{source}': not valid JSON ({ex.Message}).", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"Invalid shard index '{source}': it needs a \"weight_map\" object mapping tensor names to shard files.");
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                var file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : null;
                if (string.IsNullOrEmpty(file) || file.Contains('/', StringComparison.Ordinal) || file.Contains('\\', StringComparison.Ordinal)
                    || file is "." or "..")
                {
                    throw new InvalidDataException(
                        $"Invalid shard index '{source}': tensor '{entry.Name}' maps to {entry.Value.GetRawText()}, which is not a shard file name next to the index.");
                }

                if (!result.TryAdd(entry.Name, file))
                {
                    throw new InvalidDataException($"Invalid shard index '{source}': tensor '{entry.Name}' appears more than once.");
                }
            }

            return result;
        }
    }

    /// <summary>Writes an index the way <c>transformers</c> does: sorted keys, two-space indent.</summary>
    /// <param name="totalSize">The number of tensor data bytes over all shards.</param>
    /// <param name="weightMap">Each tensor name and its shard's file name.</param>
    public static byte[] Write(long totalSize, IEnumerable<KeyValuePair<string, string>> weightMap)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("metadata");
            writer.WriteNumber("total_size", totalSize);
            writer.WriteEndObject();
            writer.WriteStartObject("weight_map");
            foreach (var (name, file) in weightMap.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                writer.WriteString(name, file);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }
}
