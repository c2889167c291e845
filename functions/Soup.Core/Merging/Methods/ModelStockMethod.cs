namespace Soup.Core.Merging;

/// <summary>
/// Model Stock (Jang, Yun and Han 2024, "Model Stock: All we need is just a few fine-tuned models", ECCV,
/// arXiv:2403.19522), per tensor as in mergekit's <c>model_stock</c>: with task vectors τᵢ = θᵢ − base, cos θ is the
/// mean cosine similarity over all pairs (i &lt; j), t = N·cos θ / (1 + (N−1)·cos θ), and the result is
/// t·mean(θᵢ) + (1−t)·base. Needs a base and at least 2 members (the paper's N ≥ 2; its experiments use 2).
/// Degenerate cases: when some τᵢ is exactly zero the angle is undefined and t = 1 (the plain mean of the members);
/// cos θ is clamped to [0, 1], so t stays in [0, 1] (a negative mean cosine gives the base). Weights are not used.
/// The angle needs the whole tensor, so the method is not elementwise.
/// </summary>
public sealed class ModelStockMethod : IMergeMethod
{
    /// <inheritdoc />
    public string Name => "model_stock";

    /// <inheritdoc />
    public bool IsElementwise => false;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        MethodGuards.AtLeast(Name, memberCount, 2);
        MethodGuards.NeedsBase(Name, hasBase);
    }

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        var baseValues = MethodGuards.Base(Name, chunk);
        MethodGuards.WholeTensor(Name, chunk);
        MethodGuards.AtLeast(Name, chunk.Members.Length, 2);
        var n = chunk.Members.Length;
        var t = InterpolationRatio(chunk, baseValues);
        var scales = new double[n];
        Array.Fill(scales, t / n);
        TaskVectors.AddScaled(chunk, baseValues, scales);
    }

    /// <summary>t = N·cos θ / (1 + (N−1)·cos θ) from the mean pairwise cosine of the task vectors (1 when one is zero).</summary>
    internal static double InterpolationRatio(MergeChunk chunk, float[] baseValues)
    {
        var n = chunk.Members.Length;
        var length = chunk.Length;
        var baseSpan = baseValues.AsSpan(0, length);
        var norms = new double[n];
        for (var i = 0; i < n; i++)
        {
            var member = chunk.Members[i].AsSpan(0, length);
            norms[i] = Math.Sqrt(TaskVectors.Dot(member, member, baseSpan));
            if (norms[i] == 0)
            {
                return 1;
            }
        }

        var cosSum = 0.0;
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var dot = TaskVectors.Dot(chunk.Members[i].AsSpan(0, length), chunk.Members[j].AsSpan(0, length), baseSpan);
                cosSum += Math.Clamp(dot / (norms[i] * norms[j]), -1, 1);
            }
        }

        var cos = Math.Clamp(cosSum / (n * (n - 1) / 2.0), 0, 1);
        return n * cos / (1 + ((n - 1) * cos));
    }
}
