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
/// The drops, the election and the mean only involve element i, so the method is elementwise.
/// </summary>
public sealed class DareTiesMethod : IMergeMethod
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
    public string Name => "dare_ties";

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
    public void Merge(MergeChunk chunk)
    {
        var baseValues = MethodGuards.Base(Name, chunk);
        var length = chunk.Length;
        var baseSpan = baseValues.AsSpan(0, length);
        var scratch = ArrayPool<float>.Shared.Rent(length);
        try
        {
            using var consensus = new SignConsensus(length);
            var tau = scratch.AsSpan(0, length);
            for (var k = 0; k < chunk.Members.Length; k++)
            {
                TensorPrimitives.Subtract(chunk.Members[k].AsSpan(0, length), baseSpan, tau);
                if (_density < 1)
                {
                    new DareMask(_seed, k, chunk.Tensor, _density).Apply(tau, chunk.Offset, (float)(1 / _density));
                }

                consensus.Add(tau, (float)MethodGuards.Weight(_weights, k));
            }

            consensus.Finish(baseSpan, (float)_lambda, _normalize, chunk.Output.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }
}
