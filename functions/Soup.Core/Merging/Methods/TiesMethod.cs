using System.Buffers;
using System.Numerics.Tensors;

namespace Soup.Core.Merging;

/// <summary>
/// TIES-merging (Yadav et al. 2023, "TIES-Merging: Resolving Interference When Merging Models", NeurIPS,
/// arXiv:2306.01708).
/// Per tensor: task vectors τᵢ = θᵢ − base; trim: keep the round(density·n) largest-magnitude entries of each τᵢ (at
/// least 1; entries tied at the threshold magnitude kept lowest index first) and zero the rest; elect per element the
/// sign of Σ wᵢτ̂ᵢ (positive when it is 0); disjoint merge: over the members whose wᵢτ̂ᵢ is non-zero and has the elected
/// sign, Σ wᵢτ̂ᵢ divided by the Σ wᵢ of those members when <see cref="MergeParameters.Normalize"/> is true (the paper's
/// disjoint mean; mergekit's default for <c>ties</c>), the plain sum when it is false; result base + λ·merged.
/// Weights are 1 each when none are given. The trim needs the whole tensor, so the method is not elementwise. F64
/// tensors are merged in double, the others in float.
/// </summary>
public sealed class TiesMethod : Engine.IMergeMethodF64
{
    private readonly IReadOnlyList<double>? _weights;
    private readonly bool _normalize;
    private readonly double _lambda;
    private readonly double _density;

    /// <summary>Creates the method.</summary>
    /// <param name="weights">wᵢ per member (null: 1 each); must be finite.</param>
    /// <param name="normalize">Divide the elected sum by the elected members' weights (disjoint mean).</param>
    /// <param name="lambda">λ, the scale of the merged task vector; must be finite.</param>
    /// <param name="density">Fraction of each task vector kept by the trim, in (0, 1].</param>
    public TiesMethod(IReadOnlyList<double>? weights, bool normalize, double lambda, double density)
    {
        _weights = MethodGuards.Weights(weights);
        _normalize = normalize;
        _lambda = MethodGuards.Lambda(lambda);
        _density = MethodGuards.Density(density);
    }

    /// <inheritdoc />
    public string Name => MergeMethods.Ties;

    /// <inheritdoc />
    public bool IsElementwise => false;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        MethodGuards.AtLeast(Name, memberCount, 1);
        MethodGuards.NeedsBase(Name, hasBase);
        MethodGuards.WeightCount(Name, _weights, memberCount);
    }

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        MethodGuards.WholeTensor(Name, chunk);
        Merge(chunk.Members, MethodGuards.Base(Name, chunk), chunk.Output, chunk.Length);
    }

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        MethodGuards.WholeTensor(Name, chunk);
        Merge(chunk.Members, MethodGuards.Base(Name, chunk), chunk.Output, chunk.Length);
    }

    /// <summary>The method in the chunk's precision.</summary>
    private void Merge<T>(T[][] members, T[] baseValues, T[] output, int length)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var keep = MagnitudeTrim.KeepCount(_density, length);
        var baseSpan = baseValues.AsSpan(0, length);
        var scratch = ArrayPool<T>.Shared.Rent(length);
        try
        {
            using var consensus = new SignConsensus<T>(length);
            var tau = scratch.AsSpan(0, length);
            for (var k = 0; k < members.Length; k++)
            {
                TensorPrimitives.Subtract<T>(members[k].AsSpan(0, length), baseSpan, tau);
                MagnitudeTrim.KeepLargest(tau, keep);
                consensus.Add(tau, T.CreateTruncating(MethodGuards.Weight(_weights, k)));
            }

            consensus.Finish(baseSpan, T.CreateTruncating(_lambda), _normalize, output.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch);
        }
    }
}
