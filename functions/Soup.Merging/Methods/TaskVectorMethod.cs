using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace Soup.Merging.Methods;

/// <summary>How a task-vector method thins each member's task vector before combining them.</summary>
public enum TaskVectorSparsify
{
    /// <summary>Every entry kept.</summary>
    None,

    /// <summary>TIES's trim: the ⌊density·n⌋ largest magnitudes of each task vector kept (whole tensors only).</summary>
    Magnitude,

    /// <summary>DARE: each entry kept with probability density (seeded, per element).</summary>
    Random,
}

/// <summary>How the entries a thinning keeps are scaled (nothing is scaled at density 1).</summary>
public enum TaskVectorRescale
{
    /// <summary>Kept as they are (mergekit's default for TIES).</summary>
    None,

    /// <summary>
    /// The tensor scaled so its L1 norm is the unthinned one's, ‖τ‖₁ / ‖kept τ‖₁ (unscaled when either norm is under 1e-7):
    /// mergekit's default for DARE since v0.1.0. Needs the whole tensor.
    /// </summary>
    L1,

    /// <summary>Kept entries scaled by 1/density (the DARE paper's rescale).</summary>
    Density,
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
/// Weights are 1 each when none are given. Normalizing divides a sum by Σ wᵢ (1 when |Σ wᵢ| &lt; 1e-8) and the sign
/// consensus by the elected members' weights (1 where none), before λ; the defaults are mergekit's (v0.1.4): only
/// <c>ties</c> normalizes, only the DARE methods rescale (L1). A member whose scale λ·wᵢ is 0 adds nothing to a sum. The
/// magnitude trim and the L1 rescale need the whole tensor; the rest is elementwise, and DARE's drops are a pure function
/// of (seed, member, tensor, element), so any chunking gives the same result. F64 tensors are merged in double, the
/// others in float, with the same drops and trims.
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
    private readonly TaskVectorRescale _rescale;
    private readonly IReadOnlyList<double>? _densities;

    /// <summary>Creates the method.</summary>
    /// <param name="name">The method's name (<see cref="MergeMethods"/>).</param>
    /// <param name="weights">wᵢ per member (null: 1 each); must be finite.</param>
    /// <param name="lambda">λ, the scale of the combined task vector; must be finite.</param>
    /// <param name="sparsify">How each task vector is thinned.</param>
    /// <param name="density">The fraction kept by the thinning, in (0, 1] (unused without thinning).</param>
    /// <param name="seed">Seed of DARE's drops.</param>
    /// <param name="combine">How the task vectors are combined.</param>
    /// <param name="normalize">Divide a sum by Σ wᵢ, the sign consensus by the elected members' weights (disjoint mean).</param>
    /// <param name="rescale">How the kept entries are scaled after thinning.</param>
    /// <param name="densities">A density per member (mergekit's per-model <c>density</c>), each in (0, 1]; null: <paramref name="density"/> for all.</param>
    public TaskVectorMethod(
        string name, IReadOnlyList<double>? weights, double lambda, TaskVectorSparsify sparsify, double density, int seed, TaskVectorCombine combine, bool normalize,
        TaskVectorRescale rescale = TaskVectorRescale.None, IReadOnlyList<double>? densities = null)
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
        _rescale = sparsify == TaskVectorSparsify.None ? TaskVectorRescale.None : rescale;
        _densities = densities?.Select(MethodGuards.Density).ToList();
    }

    /// <summary><c>task_arithmetic</c>: base + λ·Σ wᵢτᵢ (divided by Σ wᵢ when normalizing; mergekit's default: not).</summary>
    public static TaskVectorMethod TaskArithmetic(IReadOnlyList<double>? weights, double lambda, bool normalize = false) =>
        new(MergeMethods.TaskArithmetic, weights, lambda, TaskVectorSparsify.None, 1, 0, TaskVectorCombine.Sum, normalize);

    /// <summary><c>ties</c>: magnitude trim to <paramref name="density"/>, sign consensus (mergekit's defaults: normalized, not rescaled).</summary>
    public static TaskVectorMethod Ties(
        IReadOnlyList<double>? weights, bool normalize, double lambda, double density, TaskVectorRescale rescale = TaskVectorRescale.None, IReadOnlyList<double>? densities = null) =>
        new(MergeMethods.Ties, weights, lambda, TaskVectorSparsify.Magnitude, density, 0, TaskVectorCombine.SignConsensus, normalize, rescale, densities);

    /// <summary><c>dare_linear</c>: random drops at <paramref name="density"/>, a sum (mergekit's defaults: L1 rescale, not normalized).</summary>
    public static TaskVectorMethod DareLinear(
        IReadOnlyList<double>? weights, double lambda, double density, int seed, bool normalize = false, TaskVectorRescale rescale = TaskVectorRescale.L1,
        IReadOnlyList<double>? densities = null) =>
        new(MergeMethods.DareLinear, weights, lambda, TaskVectorSparsify.Random, density, seed, TaskVectorCombine.Sum, normalize, rescale, densities);

    /// <summary><c>dare_ties</c>: random drops at <paramref name="density"/>, sign consensus (mergekit's defaults: L1 rescale, not normalized).</summary>
    public static TaskVectorMethod DareTies(
        IReadOnlyList<double>? weights, bool normalize, double lambda, double density, int seed, TaskVectorRescale rescale = TaskVectorRescale.L1,
        IReadOnlyList<double>? densities = null) =>
        new(MergeMethods.DareTies, weights, lambda, TaskVectorSparsify.Random, density, seed, TaskVectorCombine.SignConsensus, normalize, rescale, densities);

    private double DensityOf(int member) => _densities?[member] ?? _density;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public bool IsElementwise =>
        _sparsify != TaskVectorSparsify.Magnitude && !(_rescale == TaskVectorRescale.L1 && (_density < 1 || _densities?.Any(d => d < 1) == true));

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        MethodGuards.AtLeast(Name, memberCount, 1);
        MethodGuards.NeedsBase(Name, hasBase);
        MethodGuards.WeightCount(Name, _weights, memberCount);
        if (_densities is not null && _densities.Count != memberCount)
            throw new ArgumentException($"{Name} got {_densities.Count} densities for {memberCount} members");
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

    /// <summary>mergekit's floor under which an L1 norm is not divided by (no rescale).</summary>
    private const double L1Floor = 1e-7;

    /// <summary>Σ |values|, in double.</summary>
    private static double L1<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = 0.0;
        foreach (var v in values)
            sum += double.CreateTruncating(T.Abs(v));
        return sum;
    }

    /// <summary>The method in the chunk's precision.</summary>
    private void Merge<T>(T[][] members, T[] baseValues, T[] output, int length, long offset, string tensor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var baseSpan = baseValues.AsSpan(0, length);
        var divisor = 1.0;
        if (_normalize && _combine == TaskVectorCombine.Sum)
        {
            divisor = Enumerable.Range(0, members.Length).Sum(k => MethodGuards.Weight(_weights, k));
            divisor = Math.Abs(divisor) < 1e-8 ? 1 : divisor;
        }

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
                var density = DensityOf(k);
                if (_sparsify != TaskVectorSparsify.None && density < 1)
                {
                    var before = _rescale == TaskVectorRescale.L1 ? L1(tau) : 0;
                    if (_sparsify == TaskVectorSparsify.Magnitude)
                        MagnitudeTrim.KeepLargest(tau, MagnitudeTrim.KeepCount(density, length));
                    else
                        new DareMask(_seed, k, tensor, density).Apply(tau, offset, T.One);
                    var scale = _rescale switch
                    {
                        TaskVectorRescale.Density => 1 / density,
                        TaskVectorRescale.L1 when before >= L1Floor && L1(tau) is var after && after >= L1Floor => before / after,
                        _ => 1.0,
                    };
                    if (scale != 1)
                        TensorPrimitives.Multiply<T>(tau, T.CreateTruncating(scale), tau);
                }

                if (consensus is null)
                    TensorPrimitives.MultiplyAdd<T>(tau, T.CreateTruncating(_lambda * weight / divisor), sum, sum);
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
