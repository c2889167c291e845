using System.Numerics.Tensors;

namespace Soup.Merging;

/// <summary>
/// Weighted average Σ wᵢ θᵢ (weights normalized to sum 1 unless told not to); equal weights give the uniform soup of
/// DiWA and model soups, two weights (1-λ, λ) the interpolation of rewarded soups.
/// </summary>
public sealed class LinearMethod(IReadOnlyList<double>? weights, bool normalize) : IMergeMethod
{
    /// <inheritdoc />
    public string Name => MergeMethods.Linear;

    /// <inheritdoc />
    public bool IsElementwise => true;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        if (memberCount < 1)
        {
            throw new ArgumentException("linear merges at least 1 model, got none");
        }

        if (weights is not null && weights.Count != memberCount)
        {
            throw new ArgumentException($"linear got {weights.Count} weight(s) for {memberCount} member(s)");
        }

        if (weights is not null && normalize && Math.Abs(weights.Sum()) < 1e-12)
        {
            throw new ArgumentException("linear weights sum to 0 and cannot be normalized");
        }
    }

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        var n = chunk.Members.Length;
        var output = chunk.Output.AsSpan(0, chunk.Length);
        var sum = weights is null ? n : weights.Sum();
        for (var k = 0; k < n; k++)
        {
            var w = weights is null ? 1.0 : weights[k];
            var scale = (float)(normalize ? w / sum : w);
            var member = chunk.Members[k].AsSpan(0, chunk.Length);
            if (k == 0)
            {
                TensorPrimitives.Multiply(member, scale, output);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(member, scale, output, output);
            }
        }
    }
}
