using System.Buffers;
using System.Numerics.Tensors;

namespace Soup.Core.Merging;

/// <summary>
/// DARE with a linear sum (Yu et al. 2024, "Language Models are Super Mario: Absorbing Abilities from Homologous Models
/// as a Free Lunch", ICML, arXiv:2311.03099): each entry of τᵢ = θᵢ − base is kept with probability p = density and dropped otherwise,
/// the kept ones rescaled by 1/p, giving τ̃ᵢ; result base + λ·Σ wᵢτ̃ᵢ. Weights are used as given (1 each when none are
/// given) and never normalized, as in task arithmetic (mergekit's <c>dare_linear</c> default). The drops are a pure
/// function of (seed, member index, tensor name, element index), so the method is elementwise and any chunking gives
/// the same result.
/// </summary>
public sealed class DareLinearMethod : Engine.IMergeMethodF64
{
    private readonly IReadOnlyList<double>? _weights;
    private readonly double _lambda;
    private readonly double _density;
    private readonly int _seed;

    /// <summary>Creates the method.</summary>
    /// <param name="weights">wᵢ per member (null: 1 each); must be finite.</param>
    /// <param name="lambda">λ, the scale of the summed task vectors; must be finite.</param>
    /// <param name="density">p, the probability of keeping each entry, in (0, 1].</param>
    /// <param name="seed">Seed of the drops.</param>
    public DareLinearMethod(IReadOnlyList<double>? weights, double lambda, double density, int seed)
    {
        _weights = MethodGuards.Weights(weights);
        _lambda = MethodGuards.Lambda(lambda);
        _density = MethodGuards.Density(density);
        _seed = seed;
    }

    /// <inheritdoc />
    public string Name => MergeMethods.DareLinear;

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

    /// <summary>The method in the chunk's precision (F32, or F64 for F64 tensors); the drops are the same in both.</summary>
    private void Merge<T>(T[][] members, T[] baseValues, T[] output, int length, long offset, string tensor)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var baseSpan = baseValues.AsSpan(0, length);
        var accumulator = ArrayPool<T>.Shared.Rent(length);
        var scratch = ArrayPool<T>.Shared.Rent(length);
        try
        {
            var sum = accumulator.AsSpan(0, length);
            var tau = scratch.AsSpan(0, length);
            sum.Clear();
            for (var k = 0; k < members.Length; k++)
            {
                TensorPrimitives.Subtract<T>(members[k].AsSpan(0, length), baseSpan, tau);
                if (_density < 1)
                {
                    new DareMask(_seed, k, tensor, _density).Apply(tau, offset, T.CreateTruncating(1 / _density));
                }

                TensorPrimitives.MultiplyAdd<T>(tau, T.CreateTruncating(_lambda * MethodGuards.Weight(_weights, k)), sum, sum);
            }

            TensorPrimitives.Add<T>(baseSpan, sum, output.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch);
            ArrayPool<T>.Shared.Return(accumulator);
        }
    }
}
