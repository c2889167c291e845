using Soup.Merging.Methods;
namespace Soup.Merging;

/// <summary>
/// Builds the <see cref="IMergeMethod"/> that <see cref="MergeParameters"/> names, after checking every parameter's
/// range (all of them, whichever method is chosen), so a bad spec fails before anything is read.
/// </summary>
/// <remarks>
/// Defaults follow mergekit v0.1.4: <c>normalize</c> is on for <c>linear</c> and <c>ties</c>, off for
/// <c>task_arithmetic</c>, <c>dare_linear</c> and <c>dare_ties</c>; DARE rescales so each tensor keeps its L1 norm,
/// TIES does not rescale. <c>liti</c> always normalizes its weights (its soup is an average); <c>slerp</c>,
/// <c>model_stock</c> and <c>ema</c> take no weights and reject them; <c>nuslerp</c> takes two (t = w₁/(w₀ + w₁)).
/// </remarks>
public static class MergeMethodFactory
{
    private static readonly HashSet<string> WithBase =
        [MergeMethods.TaskArithmetic, MergeMethods.Ties, MergeMethods.DareLinear, MergeMethods.DareTies, MergeMethods.ModelStock, MergeMethods.Liti, MergeMethods.Ema];

    private static readonly HashSet<string> WithoutWeights = [MergeMethods.Slerp, MergeMethods.ModelStock, MergeMethods.Ema];

    private static readonly HashSet<string> Normalizing = [MergeMethods.Linear, MergeMethods.TaskArithmetic, MergeMethods.Ties, MergeMethods.DareLinear, MergeMethods.DareTies];

    private static readonly HashSet<string> Thinning = [MergeMethods.Ties, MergeMethods.DareLinear, MergeMethods.DareTies];

    /// <summary>The known method names, in the order the docs list them (<see cref="MergeMethods.All"/>).</summary>
    public static IReadOnlyList<string> Names => MergeMethods.All;

    /// <summary>
    /// Whether a pipeline gives the method the round's init as its base: the methods that need one, and nuslerp, which
    /// then interpolates the members' task vectors (slerp with a base would interpolate from the base to one member).
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static bool UsesBase(string method) => RequiresBase(method) || method == MergeMethods.Nuslerp;

    /// <summary>Whether the method needs a base model (slerp and nuslerp merely accept one; linear ignores it).</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static bool RequiresBase(string method)
    {
        EnsureKnown(method);
        return WithBase.Contains(method);
    }

    /// <summary>Checks the parameters and builds the method they name.</summary>
    /// <exception cref="ArgumentException">An unknown method (the message lists the known ones) or a parameter out of
    /// range: density outside (0, 1], t or eta outside [0, 1], |lambda| over <see cref="MergeParameters.MaxLambda"/> or a |weight| over <see cref="MergeParameters.MaxWeight"/> (or not a number), weights given to a method
    /// that takes none.</exception>
    public static IMergeMethod Create(MergeParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var method = parameters.Method;
        EnsureKnown(method);
        var weights = MethodGuards.Weights(parameters.Weights);
        var lambda = MethodGuards.Lambda(parameters.Lambda);
        var density = MethodGuards.Density(parameters.Density);
        var densities = parameters.Densities?.Select(MethodGuards.Density).ToList();
        if (densities is not null && !Thinning.Contains(method))
        {
            throw new ArgumentException($"{method} takes no per-member densities (ties, dare_linear and dare_ties do)");
        }
        var t = MethodGuards.Unit("t", parameters.T);
        var eta = MethodGuards.Unit("eta", parameters.Eta);
        if (weights is not null && WithoutWeights.Contains(method))
        {
            throw new ArgumentException($"{method} takes no weights, got {weights.Count}");
        }

        if (parameters.Normalize is not null && !Normalizing.Contains(method))
        {
            throw new ArgumentException($"{method} has no normalize option (linear, task_arithmetic, ties, dare_linear and dare_ties have)");
        }

        if (parameters.Rescale is not null && !Thinning.Contains(method))
        {
            throw new ArgumentException($"{method} has no rescale option (ties, dare_linear and dare_ties have)");
        }

        var normalize = parameters.Normalize ?? method is MergeMethods.Linear or MergeMethods.Ties;
        var rescale = parameters.Rescale switch
        {
            null => method == MergeMethods.Ties ? TaskVectorRescale.None : TaskVectorRescale.L1,
            MergeRescales.L1 => TaskVectorRescale.L1,
            MergeRescales.Density => TaskVectorRescale.Density,
            MergeRescales.None => TaskVectorRescale.None,
            var other => throw new ArgumentException($"unknown rescale '{other}'; known: {string.Join(", ", MergeRescales.All)}"),
        };

        return method switch
        {
            MergeMethods.Linear => new Engine.LinearMethodF64(weights, normalize), // F64 tensors merged in F64
            MergeMethods.TaskArithmetic => TaskVectorMethod.TaskArithmetic(weights, lambda, normalize),
            MergeMethods.Ties => TaskVectorMethod.Ties(weights, normalize, lambda, density, rescale, densities),
            MergeMethods.DareLinear => TaskVectorMethod.DareLinear(weights, lambda, density, parameters.Seed, normalize, rescale, densities),
            MergeMethods.DareTies => TaskVectorMethod.DareTies(weights, normalize, lambda, density, parameters.Seed, rescale, densities),
            MergeMethods.Slerp => SlerpMethod.Slerp(t),
            MergeMethods.Nuslerp => SlerpMethod.Nuslerp(t, weights),
            MergeMethods.ModelStock => new ModelStockMethod(),
            MergeMethods.Liti => new LitiMethod(weights, eta),
            MergeMethods.Ema => new EmaMethod(eta),
            _ => throw new InvalidOperationException($"merge method '{method}' is listed but not built"),
        };
    }

    private static void EnsureKnown(string? method)
    {
        if (method is null || !Names.Contains(method))
        {
            throw new ArgumentException($"unknown merge method '{method}'; known: {string.Join(", ", Names)}");
        }
    }
}
