namespace Soup.Merging;

/// <summary>The merge methods' names, as specs, <c>pipeline merge -m</c> and the methods themselves spell them.</summary>
public static class MergeMethods
{
    /// <summary>Weighted average; equal weights: the uniform soup.</summary>
    public const string Linear = "linear";

    /// <summary>Base + λ·Σ wᵢτᵢ.</summary>
    public const string TaskArithmetic = "task_arithmetic";

    /// <summary>TIES-merging: trim, elect signs, disjoint mean.</summary>
    public const string Ties = "ties";

    /// <summary>DARE drops, linear sum.</summary>
    public const string DareLinear = "dare_linear";

    /// <summary>DARE drops, TIES's sign election.</summary>
    public const string DareTies = "dare_ties";

    /// <summary>Spherical interpolation between two models; with a base, from the base to one member (mergekit's convention).</summary>
    public const string Slerp = "slerp";

    /// <summary>Spherical interpolation of two members, or with a base of their task vectors (WARP's SLERP).</summary>
    public const string Nuslerp = "nuslerp";

    /// <summary>Model Stock's interpolation toward the base.</summary>
    public const string ModelStock = "model_stock";

    /// <summary>WARP's interpolation toward the init.</summary>
    public const string Liti = "liti";

    /// <summary>The EMA anchor update.</summary>
    public const string Ema = "ema";

    /// <summary>Every method, in the order the docs list them.</summary>
    public static IReadOnlyList<string> All { get; } = [Linear, TaskArithmetic, Ties, DareLinear, DareTies, Slerp, Nuslerp, ModelStock, Liti, Ema];
}

/// <summary>The values of the <c>rescale</c> parameter: how the entries a thinning keeps are scaled.</summary>
public static class MergeRescales
{
    /// <summary>So that each tensor keeps its L1 norm (mergekit's DARE default).</summary>
    public const string L1 = "l1";

    /// <summary>By 1/density (the DARE paper's).</summary>
    public const string Density = "density";

    /// <summary>Not scaled (mergekit's TIES default).</summary>
    public const string None = "none";

    /// <summary>Every value.</summary>
    public static IReadOnlyList<string> All { get; } = [L1, Density, None];
}
