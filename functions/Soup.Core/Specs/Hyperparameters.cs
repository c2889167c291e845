using System.Globalization;

namespace Soup.Core.Specs;

/// <summary>
/// The allowed range of one hyperparameter, the same wherever the spec sets it (members, search, explicit) and in the
/// worker that receives a job (<c>FineTuneOptions.Validate</c>): one rule, checked at both ends.
/// </summary>
/// <param name="Min">The lower end.</param>
/// <param name="Max">The upper end.</param>
/// <param name="MinOpen">Whether <paramref name="Min"/> itself is excluded.</param>
/// <param name="MaxOpen">Whether <paramref name="Max"/> itself is excluded.</param>
/// <param name="Integer">Whether only integers are allowed.</param>
public sealed record HyperparameterRange(double Min, double Max, bool MinOpen = false, bool MaxOpen = false, bool Integer = false)
{
    /// <summary>Whether <paramref name="v"/> is in the range (NaN is not).</summary>
    public bool Contains(double v) =>
        (MinOpen ? v > Min : v >= Min) && (MaxOpen ? v < Max : v <= Max) && (!Integer || v == Math.Floor(v));

    /// <summary>The range as written in errors: <c>(0, 10]</c>, <c>[1, 1000000] (an integer)</c>.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{(MinOpen ? "(" : "[")}{Min}, {Max}{(MaxOpen ? ")" : "]")}{(Integer ? " (an integer)" : "")}");
}

/// <summary>The ranges of the hyperparameters a spec can set, and the check that reports a value outside them.</summary>
public static class Hyperparameters
{
#pragma warning disable CS1591 // each field is named for the setting it bounds
    public static readonly HyperparameterRange LearningRate = new(0, 10, MinOpen: true);
    public static readonly HyperparameterRange WeightDecay = new(0, 1);
    public static readonly HyperparameterRange Dropout = new(0, 1, MaxOpen: true);
    public static readonly HyperparameterRange Momentum = new(0, 1, MaxOpen: true);
    public static readonly HyperparameterRange BatchSize = new(1, SpecLimits.MaxBatchSize, Integer: true);
    public static readonly HyperparameterRange Steps = new(1, SpecLimits.MaxSteps, Integer: true);
    public static readonly HyperparameterRange EmaDecay = new(0, 1, MinOpen: true, MaxOpen: true);
    public static readonly HyperparameterRange AnchorWeight = new(0, 100);
    public static readonly HyperparameterRange ClassWeight = new(0, 1000);
#pragma warning restore CS1591

    internal static void Check(List<SpecProblem> p, string path, HyperparameterRange range, double? value)
    {
        if (value is { } v && !range.Contains(v))
        {
            p.Add(new(path, string.Create(CultureInfo.InvariantCulture, $"must be in {range}, got {v}")));
        }
    }
}
