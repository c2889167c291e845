namespace Soup.Merging;

/// <summary>
/// Everything that chooses and tunes a merge method. The names are those of <c>pipeline merge</c>'s options and of the
/// spec's merge section: <c>method</c>, <c>weights</c>, <c>normalize</c>, <c>rescale</c>, <c>lambda</c>, <c>density</c>,
/// <c>t</c>, <c>eta</c>, <c>seed</c>. Unset ones take mergekit's defaults for the method (v0.1.4).
/// </summary>
public sealed record MergeParameters
{
    /// <summary>The largest |λ| accepted: far beyond any useful scale of task vectors, well inside what F32 sums hold.</summary>
    public const double MaxLambda = 100;

    /// <summary>The largest |weight| accepted.</summary>
    public const double MaxWeight = 1000;

    /// <summary>linear, task_arithmetic, ties, dare_linear, dare_ties, slerp, nuslerp, model_stock, liti or ema.</summary>
    public string Method { get; set; } = MergeMethods.Linear;

    /// <summary>Per-member weights (null: equal weights).</summary>
    public IReadOnlyList<double>? Weights { get; set; }

    /// <summary>
    /// Whether weights are divided by their sum (linear, task_arithmetic, dare_linear) or by the elected members' weights
    /// (ties, dare_ties). Null: mergekit's default for the method: true for linear and ties, false for the others.
    /// </summary>
    public bool? Normalize { get; set; }

    /// <summary>How ties' and DARE's kept entries are scaled: l1, density or none. Null: l1 for DARE, none for ties (mergekit's).</summary>
    public string? Rescale { get; set; }

    /// <summary>Scale of the summed task vectors (task arithmetic, TIES, DARE).</summary>
    public double Lambda { get; set; } = 1.0;

    /// <summary>Fraction of each task vector kept (TIES trim, DARE keep probability), in (0, 1].</summary>
    public double Density { get; set; } = 1.0;

    /// <summary>Per-member densities (mergekit's per-model <c>density</c>), in (0, 1]; null: <see cref="Density"/> for every member.</summary>
    public IReadOnlyList<double>? Densities { get; set; }

    /// <summary>Interpolation position for SLERP, in [0, 1] (0: first model, or the base; 1: second); nuslerp takes it from weights when given.</summary>
    public double T { get; set; } = 0.5;

    /// <summary>Step toward the merged model for LITI and EMA, in [0, 1] (0: the base/anchor, 1: the merged model).</summary>
    public double Eta { get; set; } = 0.5;

    /// <summary>Seed of DARE's random drops.</summary>
    public int Seed { get; set; }
}
