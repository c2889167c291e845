using Soup.Orchestration;
using Soup.Core.Specs;

namespace Soup.Reports;

/// <summary>
/// What a report shows, computed once from a pipeline's status view for the HTML page and the Markdown tables alike:
/// the splits and their roles, and per round and split the members' mean and best, the soup and the ensemble.
/// </summary>
public sealed class ReportModel
{
    private readonly Dictionary<string, string?> _roles;

    private ReportModel(PipelineStatusView view)
    {
        View = view;
        Rounds = view.Result?.Rounds ?? [];
        _roles = (view.Result?.Splits ?? []).GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (string?)g.First().Role, StringComparer.Ordinal);
        Splits = [.. Rounds.SelectMany(SplitsOf).Distinct(StringComparer.Ordinal)];
        Summaries = [.. Rounds.Select(r => new RoundSummary(r, [.. SplitsOf(r).Select(s => Summarise(r, s))]))];
        InDistribution = Splits.FirstOrDefault(s => RoleOf(s) == SplitRoles.Validation);
        OutOfDistribution = Splits.FirstOrDefault(s => RoleOf(s) == SplitRoles.Test);
    }

    /// <summary>The status view the report is made of.</summary>
    public PipelineStatusView View { get; }

    /// <summary>The rounds that completed (none before the pipeline completes, unless the report was written on failure).</summary>
    public IReadOnlyList<RoundResult> Rounds { get; }

    /// <summary>Every split with a score, in order of first appearance (each round's primary split first).</summary>
    public IReadOnlyList<string> Splits { get; }

    /// <summary>Per round, per split: members, soup and ensemble.</summary>
    public IReadOnlyList<RoundSummary> Summaries { get; }

    /// <summary>The in-distribution split (role <c>validation</c>), if any split has that role.</summary>
    public string? InDistribution { get; }

    /// <summary>The out-of-distribution split (role <c>test</c>), if any split has that role.</summary>
    public string? OutOfDistribution { get; }

    /// <summary>Builds the model of <paramref name="view"/>.</summary>
    public static ReportModel From(PipelineStatusView view) => new(view ?? throw new ArgumentNullException(nameof(view)));

    /// <summary>
    /// The role of a split: as the result's split list says, else <c>validation</c> or <c>test</c> for splits of those
    /// names (how specs name them), else null.
    /// </summary>
    public string? RoleOf(string split) =>
        _roles.TryGetValue(split, out var role) ? role
        : split is SplitRoles.Validation or SplitRoles.Test ? split
        : null;

    /// <summary>The description of a split from the result's split list, if any.</summary>
    public string? DescriptionOf(string split) =>
        View.Result?.Splits?.FirstOrDefault(s => s.Name == split)?.Description;

    /// <summary>The splits with role <c>objective</c> (rewarded soups), in the result's order.</summary>
    public IReadOnlyList<string> Objectives =>
        [.. (View.Result?.Splits ?? []).Where(s => s.Role == SplitRoles.Objective).Select(s => s.Name).Distinct(StringComparer.Ordinal)];

    /// <summary>A member's accuracy on <paramref name="split"/>: from its scores, or its primary accuracy (older results).</summary>
    public static double? Accuracy(MemberResult member, RoundResult round, string split)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(round);
        return member.Scores is { } scores ? Find(scores, split) : split == round.Split ? member.Accuracy : null;
    }

    /// <summary>The soup's accuracy on <paramref name="split"/>.</summary>
    public static double? SoupAccuracy(RoundResult round, string split)
    {
        ArgumentNullException.ThrowIfNull(round);
        return Find(round.DeliveredScores(), split) ?? (split == round.Split ? round.SoupAccuracy : null);
    }

    /// <summary>The members' ensemble's accuracy on <paramref name="split"/>.</summary>
    public static double? EnsembleAccuracy(RoundResult round, string split)
    {
        ArgumentNullException.ThrowIfNull(round);
        return Find(round.EnsembleVariantScores(), split) ?? (split == round.Split ? round.Diagnostics?.EnsembleAccuracy : null);
    }

    /// <summary>The accuracy on <paramref name="split"/> in <paramref name="scores"/>, if there is one.</summary>
    public static double? Find(IReadOnlyList<SplitAccuracy>? scores, string split) =>
        scores?.FirstOrDefault(s => s.Split == split)?.Accuracy;

    /// <summary>The splits named in <paramref name="scores"/>, in order of first appearance.</summary>
    public static IReadOnlyList<string> SplitsOf(IEnumerable<IReadOnlyList<SplitAccuracy>> scores) =>
        [.. scores.SelectMany(list => list.Select(s => s.Split)).Distinct(StringComparer.Ordinal)];

    /// <summary>The splits a round has a score on: its primary split first, then in order of appearance.</summary>
    private static IEnumerable<string> SplitsOf(RoundResult round) =>
        new[] { round.Split }
            .Concat((round.DeliveredScores() ?? []).Select(s => s.Split))
            .Concat((round.EnsembleVariantScores() ?? []).Select(s => s.Split))
            .Concat(round.Members.SelectMany(m => (m.Scores ?? []).Select(s => s.Split)))
            .Distinct(StringComparer.Ordinal);

    private static SplitSummary Summarise(RoundResult round, string split)
    {
        var members = round.Members.Select(m => Accuracy(m, round, split)).OfType<double>().ToList();
        return new SplitSummary(
            split, members.Count, members.Count == 0 ? null : members.Average(), members.Count == 0 ? null : members.Max(),
            SoupAccuracy(round, split), EnsembleAccuracy(round, split));
    }
}

/// <summary>One round of the report, with a summary per split.</summary>
/// <param name="Round">The round's result.</param>
/// <param name="Splits">Its summary on each split it has a score on (the primary split first).</param>
public sealed record RoundSummary(RoundResult Round, IReadOnlyList<SplitSummary> Splits);

/// <summary>A round's accuracies on one split.</summary>
/// <param name="Split">The split.</param>
/// <param name="Members">How many members have a score on it.</param>
/// <param name="MemberMean">Their mean accuracy.</param>
/// <param name="MemberBest">The best member's accuracy.</param>
/// <param name="Soup">The soup's accuracy.</param>
/// <param name="Ensemble">The members' prediction ensemble's accuracy.</param>
public sealed record SplitSummary(string Split, int Members, double? MemberMean, double? MemberBest, double? Soup, double? Ensemble);
