using Soup.Merging.Methods;
namespace Soup.Merging;

/// <summary>
/// Builds the <see cref="IMergeMethod"/> that <see cref="MergeParameters"/> names, after checking every parameter's
/// range (all of them, whichever method is chosen), so a bad spec fails before anything is read.
/// </summary>
/// <remarks>
/// Weight rules: <c>linear</c> divides the weights by their sum when <see cref="MergeParameters.Normalize"/> is true;
/// <c>task_arithmetic</c> and <c>dare_linear</c> use them as given (1 each by default) and ignore Normalize;
/// <c>ties</c> and <c>dare_ties</c> use them as given in the sign election and, when Normalize is true, divide each
/// element's elected sum by the weights of the members that were elected there (the disjoint mean);
/// <c>liti</c> always normalizes them (its soup is an average); <c>slerp</c>, <c>model_stock</c> and <c>ema</c> take no
/// weights and reject them.
/// </remarks>
public static class MergeMethodFactory
{
    private static readonly HashSet<string> WithBase =
        [MergeMethods.TaskArithmetic, MergeMethods.Ties, MergeMethods.DareLinear, MergeMethods.DareTies, MergeMethods.ModelStock, MergeMethods.Liti, MergeMethods.Ema];

    private static readonly HashSet<string> WithoutWeights = [MergeMethods.Slerp, MergeMethods.ModelStock, MergeMethods.Ema];

    /// <summary>The known method names, in the order the docs list them (<see cref="MergeMethods.All"/>).</summary>
    public static IReadOnlyList<string> Names => MergeMethods.All;

    /// <summary>Whether the method needs a base model (slerp merely accepts one; linear ignores it).</summary>
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
        var t = MethodGuards.Unit("t", parameters.T);
        var eta = MethodGuards.Unit("eta", parameters.Eta);
        if (weights is not null && WithoutWeights.Contains(method))
        {
            throw new ArgumentException($"{method} takes no weights, got {weights.Count}");
        }

        return method switch
        {
            MergeMethods.Linear => new Engine.LinearMethodF64(weights, parameters.Normalize), // F64 tensors merged in F64
            MergeMethods.TaskArithmetic => TaskVectorMethod.TaskArithmetic(weights, lambda),
            MergeMethods.Ties => TaskVectorMethod.Ties(weights, parameters.Normalize, lambda, density),
            MergeMethods.DareLinear => TaskVectorMethod.DareLinear(weights, lambda, density, parameters.Seed),
            MergeMethods.DareTies => TaskVectorMethod.DareTies(weights, parameters.Normalize, lambda, density, parameters.Seed),
            MergeMethods.Slerp => new SlerpMethod(t),
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
