using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;

using Soup.Merging;

namespace Soup.Benchmarks;

/// <summary>
/// Synthetic members shaped like a decoder-only transformer (embedding, per-layer attention and MLP matrices, norms,
/// one I64 buffer): same names, dtypes and shapes in every member, different values. Written in bounded memory.
/// </summary>
public static class SyntheticCheckpoints
{
    private const int PatternElements = 1 << 22;

    /// <summary>The tensor layout of a model of about <paramref name="bytes"/> bytes of <paramref name="dtype"/>.</summary>
    public static IReadOnlyList<(string Name, SafetensorsDtype Dtype, long[] Shape)> Layout(long bytes, SafetensorsDtype dtype)
    {
        var elementSize = dtype.ElementSize();
        var d = bytes >= 256L << 20 ? 1024 : bytes >= 16L << 20 ? 512 : 128;
        var elements = bytes / elementSize;
        var layerElements = 12L * d * d + 4L * d;
        var layers = (int)Math.Max(1, (elements - (16L * d * d)) / layerElements);

        // Embedding and head (vocab × d each) take what the layers leave, so the file is close to the size asked for.
        var vocab = Math.Max(d, (elements - (layers * layerElements) - d - 512) / (2L * d));
        var tensors = new List<(string, SafetensorsDtype, long[])> { ("model.embed_tokens.weight", dtype, [vocab, d]) };
        for (var l = 0; l < layers; l++)
        {
            var p = string.Create(CultureInfo.InvariantCulture, $"model.layers.{l}.");
            tensors.Add((p + "input_layernorm.weight", dtype, [d]));
            foreach (var name in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
            {
                tensors.Add((p + "self_attn." + name + ".weight", dtype, [d, d]));
            }

            tensors.Add((p + "self_attn.o_proj.bias", dtype, [d]));
            tensors.Add((p + "post_attention_layernorm.weight", dtype, [d]));
            tensors.Add((p + "mlp.up_proj.weight", dtype, [4L * d, d]));
            tensors.Add((p + "mlp.down_proj.weight", dtype, [d, 4L * d]));
            tensors.Add((p + "mlp.down_proj.bias", dtype, [d]));
        }

        tensors.Add(("model.norm.weight", dtype, [d]));
        tensors.Add(("lm_head.weight", dtype, [vocab, d]));
        tensors.Add(("model.position_ids", SafetensorsDtype.I64, [1, 512]));
        return tensors;
    }

    /// <summary>Writes member <paramref name="member"/> of the layout to <paramref name="path"/>.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, SafetensorsDtype Dtype, long[] Shape)> layout, int member)
    {
        var header = SafetensorsHeaderWriter.Encode(layout.Select(t => new TensorLayout(t.Name, t.Dtype, t.Shape)), new Dictionary<string, string> { ["format"] = "pt" });
        var pattern = new float[PatternElements];
        var random = new Random(12345);
        for (var i = 0; i < pattern.Length; i++)
        {
            pattern[i] = (random.NextSingle() - 0.5f) * 0.1f;
        }

        TensorPrimitives.Multiply(pattern, 1f + (0.01f * member), pattern);
        var chunk = new byte[PatternElements * sizeof(double)];
        using var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        output.Write(header.Prefix);
        for (var t = 0; t < header.Tensors.Count; t++)
        {
            var tensor = header.Tensors[t];
            if (!FloatConversion.IsMergeable(tensor.Dtype))
            {
                // Equal in every member (positions 0..n-1), as buffers are in real fine-tunes.
                var values = Enumerable.Range(0, (int)tensor.ElementCount).Select(i => (long)i).ToArray();
                output.Write(MemoryMarshal.AsBytes(values.AsSpan()));
                continue;
            }

            var start = (int)(((long)t * 7919 + (long)member * 104_729) % PatternElements);
            for (long done = 0; done < tensor.ElementCount;)
            {
                var count = (int)Math.Min(tensor.ElementCount - done, PatternElements - start);
                var bytes = count * tensor.Dtype.ElementSize();
                FloatConversion.FromSingle(tensor.Dtype, pattern.AsSpan(start, count), chunk.AsSpan(0, bytes));
                output.Write(chunk, 0, bytes);
                done += count;
                start = 0;
            }
        }
    }
}
