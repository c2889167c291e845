using Soup.Core.Jobs;
using Soup.Orchestration;

namespace Soup.Reports;

/// <summary>One model on a rewards front: where it came from, its two generation rewards and its KL to the round's init.</summary>
/// <param name="Kind"><c>soup</c> (a point of the weights' λ sweep; λ = 0 and 1 are the two RL policies) or <c>MORL</c> (an RL run on the λ-weighted reward).</param>
/// <param name="Lambda">λ: the weight of the second policy, or of the second reward.</param>
/// <param name="X">Its mean first reward.</param>
/// <param name="Y">Its mean second reward.</param>
/// <param name="Kl">Its KL to the round's init (nats per completion), when measured.</param>
/// <param name="Checkpoint">Its checkpoint.</param>
public sealed record FrontPoint(string Kind, double Lambda, double X, double Y, double? Kl, string Checkpoint)
{
    /// <summary>The kind of a point of the weights' sweep.</summary>
    public const string SoupKind = "soup";

    /// <summary>One of the two RL policies themselves: the sweep's ends.</summary>
    public bool IsPolicy => Kind == SoupKind && Lambda is 0 or 1;

    /// <summary>What the point is, in a table: <c>RL policy</c>, <c>soup</c> or <c>MORL</c>.</summary>
    public string Label => IsPolicy ? "RL policy" : Kind;
}

/// <summary>
/// Rewarded soups of RL policies against the multi-objective RL baseline, on the rewards the models' completions
/// score (the round's first two generation rewards): the λ sweep of the two policies' weights, the MORL runs, the
/// Pareto-optimal points of all of them, and each set's hypervolume against the same reference point (the worst
/// score on each reward among all the points, less a tenth of the points' range on that reward, so that every point
/// of a front adds to it), so the two fronts compare on one number.
/// </summary>
public sealed record GenerationFront(
    int Round, string XReward, string YReward, IReadOnlyList<FrontPoint> Soups, IReadOnlyList<FrontPoint> Morl, (double X, double Y) Reference)
{
    /// <summary>Every point, the soups first.</summary>
    public IReadOnlyList<FrontPoint> All => [.. Soups, .. Morl];

    /// <summary>Indices into <see cref="All"/> of the Pareto-optimal points.</summary>
    public IReadOnlyList<int> Optimal => ParetoFront.Indices([.. All.Select(p => (p.X, p.Y))]);

    /// <summary>The hypervolume of the soups (the two policies included).</summary>
    public double SoupsHypervolume => ParetoFront.Hypervolume([.. Soups.Select(p => (p.X, p.Y))], Reference);

    /// <summary>The hypervolume of the MORL runs with the two policies (the ends MORL has too: λ = 0 and 1 are the single-reward runs).</summary>
    public double MorlHypervolume =>
        ParetoFront.Hypervolume([.. Soups.Where(p => p.IsPolicy).Concat(Morl).Select(p => (p.X, p.Y))], Reference);

    /// <summary>
    /// The front of a round whose rewards sweep's points were sampled and scored on at least two rewards; null
    /// otherwise (no sweep, no generation, or results from before points named their checkpoints).
    /// </summary>
    public static GenerationFront? Of(RoundResult round)
    {
        ArgumentNullException.ThrowIfNull(round);
        if (round.Interpolation is not { Kind: CurveKinds.Rewards } curve || round.Generation is not { Count: > 0 } generation
            || generation[0].Rewards.Count < 2)
            return null;
        var (x, y) = (generation[0].Rewards[0].Reward, generation[0].Rewards[1].Reward);
        var byCheckpoint = generation.GroupBy(g => g.Checkpoint, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        FrontPoint? Point(string kind, InterpolationPoint p) =>
            p.Checkpoint is { } blob && byCheckpoint.TryGetValue(blob, out var g) && Mean(g, x) is { } gx && Mean(g, y) is { } gy
                ? new FrontPoint(kind, p.Lambda, gx, gy, g.KlToReference, blob)
                : null;
        var soups = curve.Points.Select(p => Point(FrontPoint.SoupKind, p)).OfType<FrontPoint>().ToList();
        var morl = (curve.Baselines ?? []).Select(p => Point("MORL", p)).OfType<FrontPoint>().ToList();
        if (soups.Count == 0)
            return null;
        var all = soups.Concat(morl).ToList();
        return new GenerationFront(round.Round, x, y, soups, morl, (Below(all.Select(p => p.X)), Below(all.Select(p => p.Y))));
    }

    /// <summary>The least value less a tenth of the range (of the least value's magnitude, or 0.001, when all are equal).</summary>
    private static double Below(IEnumerable<double> values)
    {
        var list = values.ToList();
        var (min, max) = (list.Min(), list.Max());
        var margin = max > min ? 0.1 * (max - min) : Math.Max(1e-3, 0.1 * Math.Abs(min));
        return min - margin;
    }

    private static double? Mean(GenerationScore score, string reward) => score.Rewards.FirstOrDefault(r => r.Reward == reward)?.Mean;
}
