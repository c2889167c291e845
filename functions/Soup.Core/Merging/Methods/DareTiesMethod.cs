using System.Buffers;
using System.Numerics.Tensors;

namespace Soup.Core.Merging;

/// <summary>
/// DARE with TIES's sign consensus (Yu et al. 2024, "Language Models are Super Mario: Absorbing Abilities from
/// Homologous Models as a Free Lunch", ICML, arXiv:2311.03099; consensus from Yadav et al. 2023, "TIES-Merging",
/// NeurIPS, arXiv:2306.01708): the task vectors are dropped and rescaled as in <see cref="DareLinearMethod"/> (no
/// magnitude trim), then merged as in <see cref="TiesMethod"/>: per element, the sign of Σ wᵢτ̃ᵢ is elected (positive when it is 0) and the kept entries
/// with that sign are summed, divided by the sum of their weights when <see cref="MergeParameters.Normalize"/> is true
/// (disjoint mean), left as a sum when it is false; result base + λ·merged. Weights are 1 each when none are given.
/// The drops, the election and the mean only involve element i, so the method is elementwise. F64 tensors are merged
/// in double (the same drops), the others in float.
/// </summary>
public sealed class DareTiesMethod : Engine.IMergeMethodF64
{
    private readonly IReadOnlyList<double>? _weights;
    private readonly bool _normalize;
    private readonly double _lambda;
    private readonly double _density;
    private readonly int _seed;

    /// <summary>Creates the method.</summary>
    /// <param name="weights">wᵢ per member (null: 1 each); must be finite.</param>
    /// <param name="normalize">Divide the elected sum by the elected members' weights (disjoint mean).</param>
    /// <param name="lambda">λ, the scale of the merged task vector; must be finite.</param>
    /// <param name="density">p, the probability of keeping each entry, in (0, 1].</param>
    /// <param name="seed">Seed of the drops.</param>
    public DareTiesMethod(IReadOnlyList<double>? weights, bool normalize, double lambda, double density, int seed)
    {
        _weights = MethodGuards.Weights(weights);
        _normalize = normalize;
        _lambda = MethodGuards.Lambda(lambda);
        _density = MethodGuards.Density(density);
        _seed = seed;
    }

    /// <inheritdoc />
    public string Name => MergeMethods.DareTies;

    /// <inheritdoc />
    public bool IsElementwise => true;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        MethodGuards.AtLeast(Name, memberCount, 1);
        MethodGuards.NeedsBase(Name, hasBase);
        MethodGuards.WeightCount(Name, _weights, memberCount);
    }

    /// <inheritdoc />
    public void Merge(MergeChunk chunk) =>
        Merge(chunk.Members, MethodGuards.Base(Name, chunk), chunk.Output, chunk.Length, chunk.Offset, chunk.Tensor);

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        Merge(chunk.Members, MethodGuards.Base(Name, chunk), chunk.Output, chunk.Length, chunk.Offset, chunk.Tensor);
    }

    /// <summary>The method in the chunk's precision.</summary>
    private void Merge<T>(T[][] members, T[] baseValues, T[] output, int length, long offset, string tensor)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var baseSpan = baseValues.AsSpan(0, length);
        var scratch = ArrayPool<T>.Shared.Rent(length);
        try
        {
            using var consensus = new SignConsensus<T>(length);
            var tau = scratch.AsSpan(0, length);
            for (var k = 0; k < members.Length; k++)
            {
                TensorPrimitives.Subtract<T>(members[k].AsSpan(0, length), baseSpan, tau);
                if (_density < 1)
                {
                    new DareMask(_seed, k, tensor, _density).Apply(tau, offset, T.CreateTruncating(1 / _density));
                }

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
