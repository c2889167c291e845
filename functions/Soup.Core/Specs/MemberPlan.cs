using Soup.Core.Jobs;

namespace Soup.Core.Specs;

/// <summary>One member's settings in a round, resolved from the spec: what its training job carries.</summary>
/// <param name="Member">The member's index.</param>
/// <param name="Settings">Its training settings (seed included).</param>
/// <param name="Domains">Its training domains (null: the layout has none).</param>
/// <param name="Auxiliary">The auxiliary fine-tuning it starts from in round 1 (null: the shared init).</param>
public sealed record MemberPlan(int Member, TrainSettings Settings, IReadOnlyList<string>? Domains, string? Auxiliary);

/// <summary>
/// Resolves every member's settings: its <c>members.explicit</c> entry wins, then its draw from <c>members.search</c>,
/// then the fields of <c>members</c> (learning rates cycled). Pure and deterministic (safe in an orchestrator): the
/// same spec gives the same members on every machine.
/// </summary>
public static class MemberPlanner
{
    /// <summary>The members of round <paramref name="round"/> (1-based).</summary>
    public static IReadOnlyList<MemberPlan> Plan(PipelineSpec spec, int round)
    {
        var members = spec.Members;
        var grid = members.Search is { Sampling: SearchSampling.Grid } space ? Grid(space) : null;
        var rates = members.EffectiveLearningRates();
        return [.. Enumerable.Range(0, members.Count).Select(m =>
        {
            var draw = members.Search is null ? new Draw() : grid is not null ? grid[m % grid.Count] : Sample(members.Search, SearchSeed(spec), m);
            var own = members.Explicit is { } list && m < list.Count ? list[m] : new MemberSettings();
            var lr = own.LearningRate ?? draw.LearningRate ?? rates[m % rates.Count];
            var settings = new TrainSettings
            {
                Optimizer = members.Rl is not null ? Optimizers.AdamW : own.Optimizer ?? draw.Optimizer ?? members.Optimizer ?? Optimizers.Sgd,
                Steps = own.Steps ?? draw.Steps ?? members.Steps,
                BatchSize = own.BatchSize ?? draw.BatchSize ?? members.BatchSize,
                LearningRate = lr,
                Momentum = own.Momentum ?? draw.Momentum ?? members.Momentum,
                WeightDecay = own.WeightDecay ?? draw.WeightDecay ?? members.WeightDecay,
                Dropout = own.Dropout ?? draw.Dropout ?? members.Dropout ?? 0,
                Seed = own.Seed ?? MemberSeed(spec, round, m),
                Average = own.Average ?? members.Average ?? WeightAverages.None,
                AverageStart = own.AverageStart ?? members.AverageStart ?? 1,
                EmaDecay = members.EmaDecay ?? new TrainSettings().EmaDecay,
                AnchorWeight = own.AnchorWeight ?? members.AnchorWeight ?? 0,
                ClassWeights = own.ClassWeights,
                Rl = members.Rl is { } rl ? rl with { Rewards = own.Rewards ?? rl.Rewards } : null,
            };
            var auxiliary = round == 1 && spec.Auxiliary is { Count: > 0 } aux ? own.Auxiliary ?? aux[m % aux.Count].Name : null;
            return new MemberPlan(m, settings, own.Domains ?? spec.Data.TrainDomains, auxiliary);
        })];
    }

    /// <summary>A seed distinct for every (round, member) of a pipeline; round 0 is the init stage.</summary>
    public static int MemberSeed(PipelineSpec spec, int round, int member) =>
        unchecked((spec.Seed * 100_000) + (round * 1_000) + member) & int.MaxValue;

    /// <summary>How many combinations a grid search has (every dimension must be a list).</summary>
    public static long GridSize(SearchSpace space) =>
        Dimensions(space).Aggregate(1L, (n, d) => Math.Min(n * d.Count, int.MaxValue)); // Saturates: the count is bounded far below.

    private static int SearchSeed(PipelineSpec spec) => spec.Members.Search?.Seed ?? spec.Seed;

    /// <summary>Member <paramref name="member"/>'s draw: a generator of its own, dimensions in a fixed order.</summary>
    private static Draw Sample(SearchSpace space, int seed, int member)
    {
        // System.Random with a seed is the same generator on every .NET version and platform (documented as such).
        var random = new Random(HashCode(seed, member));
        return new Draw(
            Number(space.LearningRate, random),
            Number(space.WeightDecay, random),
            Number(space.Dropout, random),
            Number(space.Momentum, random),
            Integer(Number(space.BatchSize, random)),
            Integer(Number(space.Steps, random)),
            space.Optimizer is { Count: > 0 } optimizers ? optimizers[random.Next(optimizers.Count)] : null);
    }

    /// <summary>Every combination of the lists, the last dimension varying fastest.</summary>
    private static List<Draw> Grid(SearchSpace space)
    {
        var combos = new List<Draw>();
        var lr = Values(space.LearningRate);
        var wd = Values(space.WeightDecay);
        var dropout = Values(space.Dropout);
        var momentum = Values(space.Momentum);
        var batch = Values(space.BatchSize);
        var steps = Values(space.Steps);
        IReadOnlyList<string?> optimizers = space.Optimizer is { Count: > 0 } o ? [.. o] : [null];
        foreach (var a in lr)
            foreach (var b in wd)
                foreach (var c in dropout)
                    foreach (var d in momentum)
                        foreach (var e in batch)
                            foreach (var f in steps)
                                foreach (var g in optimizers)
                                    combos.Add(new Draw(a, b, c, d, Integer(e), Integer(f), g));
        return combos;
    }

    private static IReadOnlyList<double?> Values(Distribution? d) => d?.Values is { Count: > 0 } v ? [.. v.Select(x => (double?)x)] : [null];

    private static IEnumerable<IReadOnlyList<object>> Dimensions(SearchSpace space)
    {
        foreach (var d in new[] { space.LearningRate, space.WeightDecay, space.Dropout, space.Momentum, space.BatchSize, space.Steps })
        {
            if (d is not null)
                yield return [.. (d.Values ?? []).Cast<object>()];
        }

        if (space.Optimizer is { } optimizers)
            yield return [.. optimizers];
    }

    private static double? Number(Distribution? d, Random random)
    {
        if (d is null)
            return null;
        if (d.Values is { Count: > 0 } values)
            return values[random.Next(values.Count)];
        var (min, max) = (d.Min ?? 0, d.Max ?? 0);
        var u = random.NextDouble();
        return d.Log ? Math.Exp(Math.Log(min) + (u * (Math.Log(max) - Math.Log(min)))) : min + (u * (max - min));
    }

    private static int? Integer(double? value) => value is { } v ? (int)Math.Round(v, MidpointRounding.AwayFromZero) : null;

    /// <summary>A seed of its own for each (search seed, member): distinct for members below 1,000,003.</summary>
    private static int HashCode(int seed, int member) => unchecked((seed * 1_000_003) + member) & int.MaxValue;

    private sealed record Draw(
        double? LearningRate = null, double? WeightDecay = null, double? Dropout = null, double? Momentum = null,
        int? BatchSize = null, int? Steps = null, string? Optimizer = null);
}

/// <summary>The sampling modes of a search space.</summary>
public static class SearchSampling
{
    /// <summary>Every member draws every dimension at random.</summary>
    public const string Random = "random";

    /// <summary>Members take the combinations of the lists in order.</summary>
    public const string Grid = "grid";

    /// <summary>Both.</summary>
    public static IReadOnlyList<string> All { get; } = [Random, Grid];
}
