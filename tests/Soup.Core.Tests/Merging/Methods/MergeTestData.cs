using Soup.Merging;

namespace Soup.Core.Tests.Merging.Methods;

/// <summary>Random tensors, a way to run a method on whole or chunked tensors, and closeness checks.</summary>
internal static class MergeTestData
{
    /// <summary>Values uniform in [-scale, scale).</summary>
    public static float[] Random(Random random, int count, float scale = 1f) =>
        Enumerable.Range(0, count).Select(_ => ((random.NextSingle() * 2) - 1) * scale).ToArray();

    /// <summary>Multiples of 1/<paramref name="steps"/> in [-2, 2]: their differences are exact in float and magnitudes tie often.</summary>
    public static float[] Quantized(Random random, int count, int steps = 16) =>
        Enumerable.Range(0, count).Select(_ => random.Next(-2 * steps, (2 * steps) + 1) / (float)steps).ToArray();

    /// <summary>Members that share a direction away from the base (pairwise cosines of their task vectors clearly positive).</summary>
    public static float[][] Correlated(Random random, float[] baseValues, int members, float noise = 0.5f)
    {
        var shared = Random(random, baseValues.Length);
        return Enumerable.Range(0, members)
            .Select(_ => baseValues.Select((b, i) => b + shared[i] + (((random.NextSingle() * 2) - 1) * noise)).ToArray())
            .ToArray();
    }

    public static float[] Run(IMergeMethod method, float[][] members, float[]? baseValues = null, string tensor = "layer.weight")
    {
        var output = new float[members[0].Length];
        method.Merge(new MergeChunk
        {
            Tensor = tensor,
            Offset = 0,
            Length = output.Length,
            TensorLength = output.Length,
            Members = members,
            Base = baseValues,
            Output = output,
        });
        return output;
    }

    /// <summary>Merges the tensor chunk by chunk (copied into fresh, longer buffers) and stitches the outputs.</summary>
    public static float[] RunChunked(IMergeMethod method, float[][] members, float[]? baseValues, int[] boundaries, string tensor = "layer.weight")
    {
        var length = members[0].Length;
        var result = new float[length];
        var starts = new[] { 0 }.Concat(boundaries).ToArray();
        var ends = boundaries.Concat([length]).ToArray();
        for (var c = 0; c < starts.Length; c++)
        {
            var (start, count) = (starts[c], ends[c] - starts[c]);
            float[] Slice(float[] values) => [.. values.AsSpan(start, count), 123f, -456f];
            var output = new float[count + 2];
            method.Merge(new MergeChunk
            {
                Tensor = tensor,
                Offset = start,
                Length = count,
                TensorLength = length,
                Members = members.Select(Slice).ToArray(),
                Base = baseValues is null ? null : Slice(baseValues),
                Output = output,
            });
            output.AsSpan(0, count).CopyTo(result.AsSpan(start));
        }

        return result;
    }

    public static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();

    public static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<float> actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var limit = tolerance * Math.Max(1, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= limit, $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    public static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double tolerance = 1e-5) =>
        AssertClose(expected.Select(v => (double)v).ToArray(), actual, tolerance);
}
