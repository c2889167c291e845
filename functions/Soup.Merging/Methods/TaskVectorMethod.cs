using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace Soup.Merging.Methods;

/// <summary>How a task-vector method thins each member's task vector before combining them.</summary>
public enum TaskVectorSparsify
{
    /// <summary>Every entry kept.</summary>
    None,

    /// <summary>TIES's trim: the round(density·n) largest magnitudes of each task vector kept (whole tensors only).</summary>
    Magnitude,

    /// <summary>DARE: each entry kept with probability density (seeded, per element), kept ones rescaled by 1/density.</summary>
    Random,
}

/// <summary>How a task-vector method combines the members' (thinned) task vectors.</summary>
public enum TaskVectorCombine
{
    /// <summary>Σ wᵢτᵢ.</summary>
    Sum,

    /// <summary>TIES's sign election and disjoint merge (a mean over the elected members' weights when normalizing).</summary>
    SignConsensus,
}

/// <summary>
/// The methods that merge task vectors τᵢ = θᵢ − base into base + λ·combine(sparsify(τᵢ), wᵢ), as mergekit's registry
/// builds them from one general task-arithmetic merge:
/// <list type="bullet">
/// <item><c>task_arithmetic</c> (Ilharco et al. 2023, "Editing Models with Task Arithmetic", ICLR, arXiv:2212.04089):
/// no thinning, a sum.</item>
/// <item><c>ties</c> (Yadav et al. 2023, "TIES-Merging: Resolving Interference When Merging Models", NeurIPS,
/// arXiv:2306.01708): magnitude trim (entries tied at the threshold kept lowest index first), sign consensus (the sign
/// of Σ wᵢτ̂ᵢ, positive when it is 0; the disjoint mean when <see cref="MergeParameters.Normalize"/>, mergekit's
/// default).</item>
/// <item><c>dare_linear</c> and <c>dare_ties</c> (Yu et al. 2024, "Language Models are Super Mario", ICML,
/// arXiv:2311.03099): random drops, then a sum or the sign consensus.</item>
/// </list>
/// Weights are 1 each when none are given; a sum uses them as given (never normalized, as in mergekit). A member whose
/// scale λ·wᵢ is 0 adds nothing to a sum. The magnitude trim needs the whole tensor; the others are elementwise, and
/// DARE's drops are a pure function of (seed, member, tensor, element), so any chunking gives the same result. F64
/// tensors are merged in double, the others in float, with the same drops and trims.
/// </summary>
public sealed class TaskVectorMethod : Engine.IMergeMethodF64
{
    private readonly IReadOnlyList<double>? _weights;
    private readonly double _lambda;
    private readonly double _density;
    private readonly int _seed;
    private readonly bool _normalize;
    private readonly TaskVectorSparsify _sparsify;
    private readonly TaskVectorCombine _combine;

    /// <summary>Creates the method.</summary>
    /// <param name="name">The method's name (<see cref="MergeMethods"/>).</param>
    /// <param name="weights">wᵢ per member (null: 1 each); must be finite.</param>
    /// <param name="lambda">λ, the scale of the combined task vector; must be finite.</param>
    /// <param name="sparsify">How each task vector is thinned.</param>
    /// <param name="density">The fraction kept by the thinning, in (0, 1] (unused without thinning).</param>
    /// <param name="seed">Seed of DARE's drops.</param>
    /// <param name="combine">How the task vectors are combined.</param>
    /// <param name="normalize">With the sign consensus: divide by the elected members' weights (disjoint mean).</param>
    public TaskVectorMethod(
        string name, IReadOnlyList<double>? weights, double lambda, TaskVectorSparsify sparsify, double density, int seed, TaskVectorCombine combine, bool normalize)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        _weights = MethodGuards.Weights(weights);
        _lambda = MethodGuards.Lambda(lambda);
        _density = MethodGuards.Density(density);
        _seed = seed;
        _sparsify = sparsify;
        _combine = combine;
        _normalize = normalize;
    }

    /// <summary><c>task_arithmetic</c>: base + λ·Σ wᵢτᵢ.</summary>
    public static TaskVectorMethod TaskArithmetic(IReadOnlyList<double>? weights, double lambda) =>
        new(MergeMethods.TaskArithmetic, weights, lambda, TaskVectorSparsify.None, 1, 0, TaskVectorCombine.Sum, normalize: false);

    /// <summary><c>ties</c>: magnitude trim to <paramref name="density"/>, sign consensus.</summary>
    public static TaskVectorMethod Ties(IReadOnlyList<double>? weights, bool normalize, double lambda, double density) =>
        new(MergeMethods.Ties, weights, lambda, TaskVectorSparsify.Magnitude, density, 0, TaskVectorCombine.SignConsensus, normalize);

    /// <summary><c>dare_linear</c>: random drops at <paramref name="density"/>, a sum.</summary>
    public static TaskVectorMethod DareLinear(IReadOnlyList<double>? weights, double lambda, double density, int seed) =>
        new(MergeMethods.DareLinear, weights, lambda, TaskVectorSparsify.Random, density, seed, TaskVectorCombine.Sum, normalize: false);

    /// <summary><c>dare_ties</c>: random drops at <paramref name="density"/>, sign consensus.</summary>
    public static TaskVectorMethod DareTies(IReadOnlyList<double>? weights, bool normalize, double lambda, double density, int seed) =>
        new(MergeMethods.DareTies, weights, lambda, TaskVectorSparsify.Random, density, seed, TaskVectorCombine.SignConsensus, normalize);

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public bool IsElementwise => _sparsify != TaskVectorSparsify.Magnitude;

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
        ArgumentNullException.ThrowIfNull(chunk);
        if (!IsElementwise)
            MethodGuards.WholeTensor(Name, chunk);
        Merge(chunk.Members, MethodGuards.Base(Name, chunk), chunk.Output, chunk.Length, chunk.Offset, chunk.Tensor);
    }

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (!IsElementwise)
            MethodGuards.WholeTensor(Name, chunk);
        Merge(chunk.Members, MethodGuards.Base(Name, chunk), chunk.Output, chunk.Length, chunk.Offset, chunk.Tensor);
    }

    /// <summary>The method in the chunk's precision.</summary>
    private void Merge<T>(T[][] members, T[] baseValues, T[] output, int length, long offset, string tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var baseSpan = baseValues.AsSpan(0, length);
        var keep = _sparsify == TaskVectorSparsify.Magnitude ? MagnitudeTrim.KeepCount(_density, length) : length;
        var scratch = ArrayPool<T>.Shared.Rent(length);
        var accumulator = _combine == TaskVectorCombine.Sum ? ArrayPool<T>.Shared.Rent(length) : null;
        using var consensus = _combine == TaskVectorCombine.SignConsensus ? new SignConsensus<T>(length) : null;
        try
        {
            var tau = scratch.AsSpan(0, length);
            var sum = accumulator is null ? default : accumulator.AsSpan(0, length);
            sum.Clear();
            for (var k = 0; k < members.Length; k++)
            {
                var weight = MethodGuards.Weight(_weights, k);
                if (consensus is null && _lambda * weight == 0)
                    continue; // adds nothing to a sum (and a NaN in a member given weight 0 stays out)

                TensorPrimitives.Subtract<T>(members[k].AsSpan(0, length), baseSpan, tau);
                switch (_sparsify)
                {
                    case TaskVectorSparsify.Magnitude:
                        MagnitudeTrim.KeepLargest(tau, keep);
                        break;
                    case TaskVectorSparsify.Random when _density < 1:
                        new DareMask(_seed, k, tensor, _density).Apply(tau, offset, T.CreateTruncating(1 / _density));
                        break;
                }

                if (consensus is null)
                    TensorPrimitives.MultiplyAdd<T>(tau, T.CreateTruncating(_lambda * weight), sum, sum);
                else
                    consensus.Add(tau, T.CreateTruncating(weight));
            }

            if (consensus is null)
                TensorPrimitives.Add<T>(baseSpan, sum, output.AsSpan(0, length));
            else
                consensus.Finish(baseSpan, T.CreateTruncating(_lambda), _normalize, output.AsSpan(0, length));
        }
        finally
        {
            if (accumulator is not null)
                ArrayPool<T>.Shared.Return(accumulator);
            ArrayPool<T>.Shared.Return(scratch);
        }
    }
}
