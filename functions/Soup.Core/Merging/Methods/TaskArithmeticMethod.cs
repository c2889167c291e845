namespace Soup.Core.Merging;

/// <summary>
/// Task arithmetic (Ilharco et al. 2023, "Editing Models with Task Arithmetic", ICLR,
/// arXiv:2212.04089): base + λ·Σ wᵢ(θᵢ − base).
/// The weights are used as given (1 each when none are given) and never normalized, whatever
/// <see cref="MergeParameters.Normalize"/> says, as in mergekit's <c>task_arithmetic</c>: for the mean task vector, give
/// weights 1/N or λ = 1/N.
/// </summary>
public sealed class TaskArithmeticMethod : Engine.IMergeMethodF64
{
    private readonly IReadOnlyList<double>? _weights;
    private readonly double _lambda;

    /// <summary>Creates the method.</summary>
    /// <param name="weights">wᵢ per member (null: 1 each); must be finite.</param>
    /// <param name="lambda">λ, the scale of the summed task vectors; must be finite.</param>
    public TaskArithmeticMethod(IReadOnlyList<double>? weights, double lambda)
    {
        _weights = MethodGuards.Weights(weights);
        _lambda = MethodGuards.Lambda(lambda);
    }

    /// <inheritdoc />
    public string Name => MergeMethods.TaskArithmetic;

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
    public void Merge(MergeChunk chunk) => TaskVectors.AddScaled(chunk, MethodGuards.Base(Name, chunk), Scales(chunk.Members.Length));

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        TaskVectors.AddScaled(chunk, MethodGuards.Base(Name, chunk), Scales(chunk.Members.Length));
    }

    private double[] Scales(int members)
    {
        var scales = new double[members];
        for (var k = 0; k < scales.Length; k++)
        {
            scales[k] = _lambda * MethodGuards.Weight(_weights, k);
        }

        return scales;
    }
}
