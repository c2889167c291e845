namespace Soup.Merging.Methods;

/// <summary>
/// Model Stock (Jang, Yun and Han 2024, "Model Stock: All we need is just a few fine-tuned models", ECCV,
/// arXiv:2403.19522), per tensor as in mergekit's <c>model_stock</c> (v0.1.4, <c>filter_wise</c> off): with task vectors
/// τᵢ = θᵢ − base, each pair's cosine is Σ τᵢτⱼ / max(‖τᵢ‖·‖τⱼ‖, 1e-6) clamped to [−1, 1] (a zero task vector gives 0),
/// cos θ is their mean over all pairs i &lt; j, t = N·cos θ / (1 + (N−1)·cos θ) (not clamped: anti-correlated members
/// extrapolate past the base, as in mergekit), and the result is t·mean(θᵢ) + (1−t)·base. Needs a base and at least 2
/// members. Weights are not used. The angle needs the whole tensor, so the method is not elementwise. F64 tensors are
/// merged in double, the others in float (their angles accumulated in double).
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

    /// <summary>t = N·cos θ / (1 + (N−1)·cos θ) from the mean pairwise cosine of the task vectors (mergekit's clamps).</summary>
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
        }

        var cosSum = 0.0;
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var dot = TaskVectors.Dot(new ReadOnlySpan<T>(members[i], 0, length), new ReadOnlySpan<T>(members[j], 0, length), baseSpan);
                cosSum += Math.Clamp(dot / Math.Max(norms[i] * norms[j], 1e-6), -1, 1);
            }
        }

        var cos = cosSum / (n * (n - 1) / 2.0);
        return n * cos / (1 + ((n - 1) * cos));
    }
}
