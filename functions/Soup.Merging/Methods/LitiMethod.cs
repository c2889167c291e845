namespace Soup.Merging.Methods;

/// <summary>
/// LITI, linear interpolation towards the initialization (Ramé et al. 2024, "WARP: On the Benefits of Weight Averaged
/// Rewarded Policies", arXiv:2406.16768): result = base + η·(soup − base) = (1−η)·base + η·soup, where the soup is the
/// weighted mean Σ ŵᵢθᵢ with ŵᵢ = wᵢ/Σw (uniform when no weights are given; always normalized, whatever
/// <see cref="MergeParameters.Normalize"/> says, since the soup is an average). η = 0 gives the base, η = 1 the soup.
/// Needs a base. Elementwise.
/// </summary>
public sealed class LitiMethod : Engine.IMergeMethodF64
{
    private readonly IReadOnlyList<double>? _weights;
    private readonly double _eta;

    /// <summary>Creates the method.</summary>
    /// <param name="weights">wᵢ per member (null: equal); must be finite with a non-zero sum.</param>
    /// <param name="eta">η, the step from the base toward the soup, in [0, 1].</param>
    public LitiMethod(IReadOnlyList<double>? weights, double eta)
    {
        _weights = MethodGuards.Weights(weights);
        _eta = MethodGuards.Unit("eta", eta);
    }

    /// <inheritdoc />
    public string Name => MergeMethods.Liti;

    /// <inheritdoc />
    public bool IsElementwise => true;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        MethodGuards.AtLeast(Name, memberCount, 1);
        MethodGuards.NeedsBase(Name, hasBase);
        MethodGuards.WeightCount(Name, _weights, memberCount);
        if (_weights is not null && Math.Abs(_weights.Sum()) < 1e-12)
        {
            throw new ArgumentException("liti weights sum to 0 and cannot be normalized");
        }
    }

    /// <inheritdoc />
    public void Merge(MergeChunk chunk) => TaskVectors.AddScaled(chunk, MethodGuards.Base(Name, chunk), Scales(chunk.Members.Length));

    /// <inheritdoc />
    public void MergeF64(Engine.MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        TaskVectors.AddScaled(chunk, MethodGuards.Base(Name, chunk), Scales(chunk.Members.Length));
    }

    private double[] Scales(int n)
    {
        var sum = _weights?.Sum() ?? n;
        var scales = new double[n];
        for (var k = 0; k < n; k++)
        {
            scales[k] = _eta * MethodGuards.Weight(_weights, k) / sum;
        }

        return scales;
    }
}
