namespace Soup.Merging.Methods;

/// <summary>
/// Model Stock (Jang, Yun and Han 2024, "Model Stock: All we need is just a few fine-tuned models", ECCV,
/// arXiv:2403.19522), per tensor as in mergekit's <c>model_stock</c>: with task vectors τᵢ = θᵢ − base, cos θ is the
/// mean cosine similarity over all pairs (i &lt; j), t = N·cos θ / (1 + (N−1)·cos θ), and the result is
/// t·mean(θᵢ) + (1−t)·base. Needs a base and at least 2 members (the paper's N ≥ 2; its experiments use 2).
/// Degenerate cases: when some τᵢ is exactly zero the angle is undefined and t = 1 (the plain mean of the members);
/// cos θ is clamped to [0, 1], so t stays in [0, 1] (a negative mean cosine gives the base). Weights are not used.
/// The angle needs the whole tensor, so the method is not elementwise. F64 tensors are merged in double, the others in
/// float (their angles accumulated in double).
/// </summary>
public sealed class ModelStockMethod : Engine.IMergeMethodF64
{
    /// <inheritdoc />
    public string Name => MergeMethods.ModelStock;

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
        TaskVectors.AddScaled(chunk, baseValues, Scales(chunk.Members, baseValues, chunk.Length));
    }

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var baseValues = MethodGuards.Base(Name, chunk);
        MethodGuards.WholeTensor(Name, chunk);
        TaskVectors.AddScaled(chunk, baseValues, Scales(chunk.Members, baseValues, chunk.Length));
    }

    /// <summary>t/N for each member.</summary>
    private double[] Scales<T>(T[][] members, T[] baseValues, int length)
        where T : unmanaged
    {
        MethodGuards.AtLeast(Name, members.Length, 2);
        var scales = new double[members.Length];
        Array.Fill(scales, InterpolationRatio(members, baseValues, length) / members.Length);
        return scales;
    }

    /// <summary>t = N·cos θ / (1 + (N−1)·cos θ) from the mean pairwise cosine of the task vectors (1 when one is zero).</summary>
    internal static double InterpolationRatio<T>(T[][] members, T[] baseValues, int length)
        where T : unmanaged
    {
        var n = members.Length;
        var baseSpan = new ReadOnlySpan<T>(baseValues, 0, length);
        var norms = new double[n];
        for (var i = 0; i < n; i++)
        {
            var member = new ReadOnlySpan<T>(members[i], 0, length);
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
                var dot = TaskVectors.Dot(new ReadOnlySpan<T>(members[i], 0, length), new ReadOnlySpan<T>(members[j], 0, length), baseSpan);
                cosSum += Math.Clamp(dot / (norms[i] * norms[j]), -1, 1);
            }
        }

        var cos = Math.Clamp(cosSum / (n * (n - 1) / 2.0), 0, 1);
        return n * cos / (1 + ((n - 1) * cos));
    }
}
