using System.Globalization;
using Soup.Orchestration;

namespace Soup.Reports;

/// <summary>A table of plain text cells (escaped by whoever writes it out).</summary>
/// <param name="Caption">What the table shows.</param>
/// <param name="Headers">The column headers.</param>
/// <param name="Rows">The rows, each with one cell per header.</param>
public sealed record TextTable(string Caption, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>A section of a report: its tables, or in words why there is nothing to show yet.</summary>
/// <param name="Id">The section's anchor in the page.</param>
/// <param name="Title">Its heading.</param>
/// <param name="Tables">Its tables (empty when pending).</param>
/// <param name="Pending">What is pending or not measured, when there are no tables.</param>
public sealed record ReportSection(string Id, string Title, IReadOnlyList<TextTable> Tables, string? Pending);

/// <summary>
/// The report's facts and tables, made once for the HTML page and the Markdown text: the header facts, the rounds, the
/// members, the variants, the interpolation curves, the missing members and the running jobs.
/// </summary>
public static class ReportSections
{
    /// <summary>The header's facts as (label, value) pairs: id, status, recipe, progress, chosen checkpoint and why, stop reason, failure.</summary>
    public static IReadOnlyList<(string Label, string Value)> Facts(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var view = model.View;
        var result = view.Result;
        var facts = new List<(string, string)>
        {
            ("pipeline", view.Id),
            ("status", view.RuntimeStatus),
            ("recipe", result?.Recipe ?? (result is null ? "pending (known when the pipeline completes)" : "not named in this run's result")),
            ("created", ReportFormat.Time(view.CreatedAt)),
            ("last updated", ReportFormat.Time(view.LastUpdatedAt)),
        };
        if (view.Progress is { } p)
        {
            facts.Add(("progress", p.Describe()));
            if (p.BestRound is { } best)
                facts.Add(("best soup so far", $"round {best}, {ReportFormat.Percent(p.BestSoupAccuracy)}"));
        }

        facts.Add(("chosen checkpoint",
            result?.Choice is { } choice ? $"{choice.Checkpoint} (round {choice.Round}, {ReportFormat.Percent(choice.Accuracy)} on '{choice.Split}')"
            : !string.IsNullOrEmpty(result?.FinalCheckpoint) ? result.FinalCheckpoint
            : view.IsTerminal ? $"none: the pipeline ended {view.RuntimeStatus} before choosing one"
            : "none yet: a checkpoint is chosen when the pipeline completes"));
        if (result?.Choice is { } why)
            facts.Add(("why this one", why.Reason));
        facts.Add(("stopped early", result?.Stopped ?? (
            view.IsTerminal && view.RuntimeStatus != "Completed" ? $"the pipeline ended {view.RuntimeStatus} after {Text(result?.Rounds.Count ?? 0)} completed round(s)"
            : result is null ? "pending"
            : view.Progress is { Rounds: var planned } && result.Rounds.Count == planned ? $"no: all {Text(planned)} rounds of the spec ran"
            : "no stop reason in this run's result")));
        if (view.Failure is { } failure)
            facts.Add(("failure", failure));
        return facts;
    }

    /// <summary>Every section, in page order.</summary>
    public static IReadOnlyList<ReportSection> All(ReportModel model) =>
        [.. Pairs(model) is { } pairs ? [pairs] : Array.Empty<ReportSection>(), Rounds(model), Members(model), Variants(model), Generation(model), Interpolation(model), Missing(model), Jobs(model)];

    /// <summary>The preference pairs the pipeline made (<c>preferences</c>): how many of each kind and what was skipped; null when it made none.</summary>
    public static ReportSection? Pairs(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.View.Pairs is not { } p)
            return null;
        var from = p.Policy is { } policy ? $"two samples of {policy} per prompt" : "a document's real continuation against another document's";
        var table = new TextTable(
            $"Made by the pipeline's pairs job from {Text(p.Documents)} held-out documents: {from}, labelled by the gold reward '{p.Reward}'",
            ["dataset", "pairs", "labels"],
            [
                ["pairs:train", Text(p.Train), $"{Text(p.Flipped)} flipped ({ReportFormat.Percent(p.Train == 0 ? null : (double)p.Flipped / p.Train)})"],
                ["pairs:clean", Text(p.Train), "gold"],
                ["pairs:test", Text(p.Test), "gold (other prompts)"],
                ["pairs:shifted", Text(p.Shifted), p.Shifted > 0 ? "gold (shifted prompts)" : "none asked for"],
            ]);
        var skipped = new TextTable(
            "Prompts used and skipped",
            ["prompts used", "ties skipped", "empty completions skipped", "prompts cut to the context"],
            [[Text(p.PromptsUsed), Text(p.Ties), Text(p.Empty), Text(p.TruncatedPrompts)]]);
        return new ReportSection("pairs", "Preference pairs", [table, skipped], null);
    }

    /// <summary>Why there are no rounds to show (a running or failed pipeline), in words.</summary>
    public static string NoRounds(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var view = model.View;
        return view.RuntimeStatus switch
        {
            "Completed" => "The pipeline completed without a round result.",
            "Failed" or "Terminated" => $"No round completed before the pipeline ended ({view.RuntimeStatus}).",
            _ => view.Progress is { } p
                ? $"Pending: round results are reported when the pipeline completes (now {p.Phase}, round {p.Round} of {p.Rounds})."
                : "Pending: the pipeline has not reported progress yet.",
        };
    }

    /// <summary>
    /// What a section or plot with nothing to show says: why there are no rounds yet, or, when rounds completed,
    /// <paramref name="notMeasured"/>.
    /// </summary>
    public static string Pending(ReportModel model, string notMeasured)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Rounds.Count == 0 ? NoRounds(model) : notMeasured;
    }

    /// <summary>Per round and split: members' mean and best, soup, ensemble, and on the primary split diversity, connectivity and missing members.</summary>
    public static ReportSection Rounds(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Summaries.Count == 0)
            return new ReportSection("rounds", "Rounds", [], NoRounds(model));

        var rows = new List<IReadOnlyList<string>>();
        foreach (var summary in model.Summaries)
        {
            var round = summary.Round;
            foreach (var s in summary.Splits)
            {
                var primary = s.Split == round.Split;
                var d = primary ? round.Diagnostics : null;
                rows.Add([
                    Text(round.Round), s.Split, model.RoleOf(s.Split) ?? ReportFormat.None, Text(s.Members),
                    ReportFormat.Percent(s.MemberMean), ReportFormat.Percent(s.MemberBest), ReportFormat.Percent(s.Soup),
                    ReportFormat.Points(s.Soup - s.MemberMean), ReportFormat.Percent(s.Ensemble),
                    ReportFormat.Percent(d?.Disagreement), ReportFormat.Number(d?.RatioError, 2), Connectivity(d),
                    primary ? Text(round.Missing?.Count ?? 0) : ReportFormat.None,
                ]);
            }
        }

        var table = new TextTable(
            "Accuracy per round and split (diversity, connectivity and missing members on the round's primary split)",
            ["round", "split", "role", "members", "members mean", "members best", "soup", "soup − mean (pts)", "ensemble",
             "disagreement", "ratio-error", "connectivity", "missing"],
            rows);
        return new ReportSection("rounds", "Rounds", [table], null);
    }

    /// <summary>Each round's members: hyperparameters and accuracy on every split.</summary>
    public static ReportSection Members(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Summaries.Count == 0)
            return new ReportSection("members", "Members", [], NoRounds(model));

        var tables = model.Summaries.Select(summary =>
        {
            var round = summary.Round;
            var splits = summary.Splits.Select(s => s.Split).ToList();
            var rows = round.Members.Select(m => (IReadOnlyList<string>)[
                Text(m.Member), ReportFormat.Number(m.LearningRate, 4), Text(m.Seed), Settings(m), m.Init ?? "round's init",
                .. splits.Select(s => ReportFormat.Percent(ReportModel.Accuracy(m, round, s))),
            ]).ToList();
            return new TextTable($"Round {Text(round.Round)}: members from {round.Init}", ["member", "learning rate", "seed", "settings", "init", .. splits], rows);
        }).ToList();
        return new ReportSection("members", "Members", tables, null);
    }

    /// <summary>Each round's variants (ERM, uniform, greedy soup, ensemble, ...) with their scores.</summary>
    public static ReportSection Variants(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tables = new List<TextTable>();
        foreach (var round in model.Rounds.Where(r => r.Variants is { Count: > 0 }))
        {
            var splits = ReportModel.SplitsOf(round.Variants!.Select(v => v.Scores));
            var rows = round.Variants!.Select(v => (IReadOnlyList<string>)[
                v.Name, string.Join(", ", v.Members.Select(m => Text(m))), .. splits.Select(s => ReportFormat.Percent(ReportModel.Find(v.Scores, s))),
                v.Checkpoint ?? ReportFormat.None, v.Description ?? "",
            ]).ToList();
            tables.Add(new TextTable($"Round {Text(round.Round)}: ways of using the members", ["variant", "members", .. splits, "checkpoint", "how"], rows));
        }

        return new ReportSection("variants", "Soup variants", tables,
            tables.Count > 0 ? null : Pending(model, "No soup variants (ERM, uniform, greedy soup, ...) were scored in this run."));
    }

    /// <summary>
    /// Language models: what each evaluated checkpoint generated (mean gold rewards, KL to the round's init, length),
    /// and the delivered soup's completions as sampled.
    /// </summary>
    public static ReportSection Generation(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tables = new List<TextTable>();
        foreach (var round in model.Rounds.Where(r => r.Generation is { Count: > 0 }))
        {
            var generated = round.Generation!;
            var rewards = generated[0].Rewards.Select(r => r.Reward).ToList();
            var rows = generated.Select(g => (IReadOnlyList<string>)[
                g.Checkpoint == round.Soup ? $"{g.Checkpoint} (delivered)" : g.Checkpoint,
                .. rewards.Select(r => ReportFormat.Number(g.Rewards.FirstOrDefault(x => x.Reward == r)?.Mean)),
                ReportFormat.Number(g.KlToReference), ReportFormat.Number(g.MeanTokens, 1), Text(g.TruncatedPrompts),
            ]).ToList();
            tables.Add(new TextTable(
                $"Round {Text(round.Round)}: generation, mean reward of one completion per prompt (the same draws for every checkpoint) and KL to {generated[0].Reference ?? round.Init} (nats per completion)",
                ["checkpoint", .. rewards, "KL to init", "tokens", "prompts cut"], rows));
            if (GenerationFront.Of(round) is { } front)
                tables.AddRange(FrontTables(front));
            if (generated.Where(g => g.Training is { Points.Count: > 0 }).ToList() is { Count: > 0 } trained)
                tables.Add(TrainingTable(round, trained));
            if (generated.FirstOrDefault(g => g.Checkpoint == round.Soup) is { Samples.Count: > 0 } soup)
            {
                tables.Add(new TextTable(
                    $"Round {Text(round.Round)}: completions of the delivered soup",
                    ["prompt", "completion", .. rewards],
                    [.. soup.Samples.Select(x => (IReadOnlyList<string>)[x.Prompt, x.Completion, .. x.Rewards.Select(v => ReportFormat.Number(v))])]));
            }
        }

        return new ReportSection("generation", "Generation", tables,
            tables.Count > 0 ? null : Pending(model, "No generation evaluation in this run (language models with evaluation.generation only)."));
    }

    /// <summary>A rewards front's points (soups and MORL runs, Pareto-optimal marked) and each set's hypervolume.</summary>
    private static IEnumerable<TextTable> FrontTables(GenerationFront front)
    {
        var optimal = front.Optimal.ToHashSet();
        yield return new TextTable(
            $"Round {Text(front.Round)}: rewarded soups (the λ sweep of the two RL policies' weights) and MORL (one RL run on (1 − λ)·first reward + λ·second), on the generation rewards",
            ["model", "λ", front.XReward, front.YReward, "KL to init", "Pareto-optimal", "checkpoint"],
            [.. front.All.Select((p, i) => (IReadOnlyList<string>)[
                p.Label, ReportFormat.Lambda(p.Lambda), ReportFormat.Number(p.X), ReportFormat.Number(p.Y),
                ReportFormat.Number(p.Kl), optimal.Contains(i) ? "yes" : "", p.Checkpoint,
            ])]);
        yield return new TextTable(
            $"Round {Text(front.Round)}: front quality, hypervolume above ({ReportFormat.Number(front.Reference.X)}, {ReportFormat.Number(front.Reference.Y)}), the worst score on each reward less a tenth of the points' range (larger is better)",
            ["front", "points", "hypervolume"],
            [
                ["rewarded soups", Text(front.Soups.Count), ReportFormat.Number(front.SoupsHypervolume)],
                .. front.Morl.Count > 0
                    ? [(IReadOnlyList<string>)["MORL (with the two policies)", Text(front.Morl.Count + front.Soups.Count(p => p.IsPolicy)), ReportFormat.Number(front.MorlHypervolume)]]
                    : Array.Empty<IReadOnlyList<string>>(),
            ]);
    }

    /// <summary>
    /// How each RL fine-tuning went: the optimised reward from its first to its last point, the KL to its anchor at the
    /// end, and each tracked reward's first, peak (with its step) and last value: a tracked gold reward that peaks and
    /// falls while the optimised proxy keeps rising is reward hacking; a later peak delays it, a smaller fall reduces it.
    /// </summary>
    private static TextTable TrainingTable(RoundResult round, IReadOnlyList<Core.Jobs.GenerationScore> trained)
    {
        var tracked = trained.SelectMany(g => g.Training!.Tracked).Distinct(StringComparer.Ordinal).ToList();
        return new TextTable(
            $"Round {Text(round.Round)}: RL training, the optimised reward and the tracked rewards over the steps (means of each point's steps); a tracked reward that peaks then falls while the optimised one rises is reward hacking",
            ["checkpoint", "optimised reward", "first → last", "KL at the end", .. tracked.SelectMany(t => (string[])[$"{t}: first → last", $"{t}: peak (step)", $"{t}: fall from peak"])],
            [.. trained.Select(g =>
            {
                var curve = g.Training!;
                var (first, last) = (curve.Points[0], curve.Points[^1]);
                return (IReadOnlyList<string>)[
                    Label(round, g.Checkpoint), curve.Reward, $"{ReportFormat.Number(first.Reward)} → {ReportFormat.Number(last.Reward)}", ReportFormat.Number(last.Kl),
                    .. tracked.SelectMany(t =>
                    {
                        var i = curve.TrackedIndex(t);
                        if (i < 0)
                            return (string[])[ReportFormat.None, ReportFormat.None, ReportFormat.None];
                        var peak = curve.Peak(i);
                        return [$"{ReportFormat.Number(first.Tracked[i])} → {ReportFormat.Number(last.Tracked[i])}", $"{ReportFormat.Number(peak.Tracked[i])} ({Text(peak.Step)})", ReportFormat.Number(peak.Tracked[i] - last.Tracked[i])];
                    }),
                ];
            })]);
    }

    /// <summary>A checkpoint's name in a round's tables: <c>member m</c> for members, else the blob.</summary>
    internal static string Label(RoundResult round, string checkpoint) =>
        round.Members.FirstOrDefault(m => m.Checkpoint == checkpoint) is { } member ? $"member {Text(member.Member)}"
        : round.Interpolation?.Baselines?.FirstOrDefault(b => b.Checkpoint == checkpoint) is { } morl ? $"MORL λ={ReportFormat.Lambda(morl.Lambda)}"
        : checkpoint;

    /// <summary>Each round's interpolation curve: accuracy per split at each λ, with the Pareto-optimal points of a rewards sweep.</summary>
    public static ReportSection Interpolation(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tables = new List<TextTable>();
        foreach (var round in model.Rounds.Where(r => r.Interpolation is { Points.Count: > 0 }))
        {
            var curve = round.Interpolation!;
            var splits = ReportModel.SplitsOf(curve.Points.Select(p => p.Scores));
            var pareto = curve.Kind == CurveKinds.Rewards ? ReportPlots.RewardsFront(model, curve) : null;
            var rows = curve.Points.Select(p => (IReadOnlyList<string>)[
                ReportFormat.Lambda(p.Lambda), .. splits.Select(s => ReportFormat.Percent(ReportModel.Find(p.Scores, s))),
                .. pareto is null ? Array.Empty<string>() : [pareto.Optimal.Any(k => pareto.Lambdas[k] == p.Lambda) ? "yes" : ""],
            ]).ToList();
            string[] headers = pareto is null ? ["λ", .. splits] : ["λ", .. splits, "Pareto-optimal"];
            tables.Add(new TextTable($"Round {Text(round.Round)}: {curve.Kind} curve, (1 − λ)·{curve.From} + λ·{curve.To}", headers, rows));
        }

        return new ReportSection("interpolation", "Interpolation", tables,
            tables.Count > 0 ? null : Pending(model, "No interpolation curve in this run (neither between two members nor between rewards)."));
    }

    /// <summary>The members rounds went on without, and why.</summary>
    public static ReportSection Missing(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var rows = model.Rounds
            .SelectMany(r => (r.Missing ?? []).Select(m => (IReadOnlyList<string>)[Text(r.Round), Text(m.Member), m.JobId, Text(m.Dispatches), m.Reason]))
            .ToList();
        return rows.Count > 0
            ? new ReportSection("missing", "Missing members", [new TextTable("Members that did not land (the quorum let the round go on)", ["round", "member", "job", "dispatches", "reason"], rows)], null)
            : new ReportSection("missing", "Missing members", [], Pending(model, "None: every member of every round landed."));
    }

    /// <summary>The running stage's jobs' progress, while the pipeline runs.</summary>
    public static ReportSection Jobs(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.View.Jobs is not { Count: > 0 } jobs)
            return new ReportSection("jobs", "Running jobs", [], model.View.IsTerminal ? "None: the pipeline has ended." : "No job reported progress yet.");
        var rows = jobs.Select(j => (IReadOnlyList<string>)[
            j.JobId, $"{Text(j.Step)} / {Text(j.TotalSteps)}", ReportFormat.Number(j.Loss, 4), $"{ReportFormat.Number(j.PerSecond, 0)} {j.Unit}/s", j.Worker, ReportFormat.Time(j.UpdatedAt),
        ]).ToList();
        return new ReportSection("jobs", "Running jobs", [new TextTable("Progress reports of the current stage's jobs", ["job", "step", "loss", "throughput", "worker", "updated"], rows)], null);
    }

    private static string Connectivity(RoundDiagnostics? d) =>
        d is { MidpointAccuracy: { } midpoint, EndpointMeanAccuracy: { } endpoints }
            ? $"members {Text(d.PairA)}-{Text(d.PairB)}: midpoint {ReportFormat.Percent(midpoint)} vs {ReportFormat.Percent(endpoints)} (gap {ReportFormat.Points(d.ConnectivityGap)} pts)"
            : ReportFormat.None;

    private static string Settings(MemberResult member) => member.Settings is { } s
        ? FormattableString.Invariant($"{s.Optimizer}, {s.Steps} steps, batch {s.BatchSize}")
        : ReportFormat.None;

    private static string Text(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? ReportFormat.None;
}

/// <summary>The kinds of <see cref="InterpolationCurve"/>.</summary>
public static class CurveKinds
{
    /// <summary>Between two members of a round: linear connectivity.</summary>
    public const string Members = "members";

    /// <summary>Between two objectives' members: rewarded soups' λ sweep.</summary>
    public const string Rewards = "rewards";
}
