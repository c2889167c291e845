using Soup.Merging;
using System.Globalization;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// A round's result from its spec and evaluation reports: each member's settings and scores, the variants (ERM, merge,
/// greedy, ensemble), diagnostics and the interpolation curve. Pure; run by <see cref="TaskNames.SummarizeRound"/>,
/// which reads the stored spec and the reports, so the round's history holds neither.
/// </summary>
public static class RoundSummarizer
{
    /// <summary>Every checkpoint's scores in a report, the report's split order.</summary>
    public static Dictionary<string, IReadOnlyList<SplitAccuracy>> Scores(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var order = report.Splits.Select((s, i) => (s.Name, i)).ToDictionary(x => x.Name, x => x.i);
        return report.Scores.GroupBy(s => s.Checkpoint).ToDictionary(
            g => g.Key,
            g => (IReadOnlyList<SplitAccuracy>)[.. g.OrderBy(s => order.GetValueOrDefault(s.Split, int.MaxValue)).Select(s => new SplitAccuracy(s.Split, s.Accuracy, s.Loss))]);
    }

    private static double Validation(IReadOnlyList<SplitAccuracy> scores) =>
        scores.FirstOrDefault(s => s.Split == SplitRoles.Validation)?.Accuracy ?? double.NaN;

    /// <summary>
    /// The round's result from the full spec, the request (what the round made) and the evaluation reports named in it,
    /// in the same order (the round's; older rounds' greedy candidates' after it).
    /// </summary>
    public static RoundResult Summarize(PipelineSpec spec, SummarizeRequest request, IReadOnlyList<EvaluationReport> reports)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reports);
        var round = request.Round;
        var jobs = JobPlanner.Members(spec, round.PipelineId, round.Round, round.Init, round.Auxiliary);
        var members = request.Landed.Select(i => (Index: i, Job: jobs[i])).ToList();
        var report = reports[0];
        var scores = Scores(report);
        foreach (var more in reports.Skip(1))
        {
            foreach (var (checkpoint, s) in Scores(more))
                scores[checkpoint] = s;
        }

        var missing = request.Missing;
        var split = report.PrimarySplit;
        IReadOnlyList<SplitAccuracy> All(string blob) => scores.TryGetValue(blob, out var s)
            ? s
            : throw new PipelineFailedException($"round {round.Round}: the evaluation report has no score for '{blob}'");
        SplitAccuracy Primary(string blob) => All(blob).FirstOrDefault(s => s.Split == split)
            ?? throw new PipelineFailedException($"round {round.Round}: the evaluation report has no '{split}' score for '{blob}'");

        var memberResults = members.Select(member =>
        {
            var blob = CheckpointLayout.Blob(member.Job.PipelineId, member.Job.Slot, CheckpointLayout.CheckpointFile);
            var score = Primary(blob);
            var init = member.Job.InitCheckpoint != round.Init ? member.Job.InitCheckpoint : null;
            return new MemberResult(
                member.Index, member.Job.Settings.LearningRate, member.Job.Settings.Seed, blob, score.Accuracy, score.Loss, All(blob), member.Job.Settings, init);
        }).ToList();

        // ERM: the member a hyperparameter search would keep, chosen on validation (never on test).
        var erm = GreedySoup.Ranked(memberResults, m => Validation(scores[m.Checkpoint]))[0];
        var everyone = memberResults.Select(m => m.Member).ToList();
        var method = spec.Merge.Method == MergeMethods.Linear && spec.Merge.Weights is null ? "uniform" : spec.Merge.Method;
        var variants = new List<SoupVariant>
        {
            new("erm", erm.Checkpoint, [erm.Member], erm.Scores!, $"the best single member on validation (member {erm.Member})"),
        };
        if (request.BeforeLiti is { } before)
        {
            variants.Add(new(method, before, everyone, All(before), $"{method} merge of the {everyone.Count} members"));
            variants.Add(new(
                $"{method}+liti", request.Merged, everyone, All(request.Merged),
                string.Create(CultureInfo.InvariantCulture, $"the {method} merge moved back toward the init by η = {spec.Soup!.TowardInit}"), spec.Soup.TowardInit));
            foreach (var point in request.TowardInitSweep ?? [])
            {
                variants.Add(new(
                    string.Create(CultureInfo.InvariantCulture, $"{method}+liti η={point.Lambda}"), point.Blob, everyone, All(point.Blob),
                    string.Create(CultureInfo.InvariantCulture, $"the {method} merge moved back toward the init by η = {point.Lambda} (soup.towardInitSweep)"), point.Lambda));
            }
        }
        else
        {
            variants.Add(new(method, request.Merged, everyone, All(request.Merged), $"{method} merge of the {everyone.Count} members"));
        }

        var greedy = Greedy(request, report, memberResults);
        if (greedy is not null)
        {
            variants.Add(new("greedy", greedy.Value.Checkpoint, greedy.Value.Members, All(greedy.Value.Checkpoint), greedy.Value.Description));
        }

        IReadOnlyList<SplitAccuracy>? ensembleScores = report.Ensemble.Count > 0 ? [.. report.Ensemble.Select(e => new SplitAccuracy(e.Split, e.Accuracy, e.Loss))] : null;
        if (ensembleScores is not null)
        {
            variants.Add(new(SoupVariant.EnsembleName, null, everyone, ensembleScores, $"prediction ensemble of the {everyone.Count} members (one forward pass each)"));
        }

        var delivered = (spec.Soup?.Select ?? SoupSelections.All) switch
        {
            SoupSelections.Greedy => greedy?.Checkpoint ?? throw new PipelineFailedException($"round {round.Round}: the spec delivers the greedy soup, and the evaluation report has none"),
            SoupSelections.Best => erm.Checkpoint,
            _ => request.Merged,
        };
        var soupScore = Primary(delivered);
        var diversity = report.Diversity.FirstOrDefault(d => d.Split == split);
        var pair = report.Connectivity.FirstOrDefault(c => c.Split == split);
        var diagnostics = new RoundDiagnostics(
            null, null, diversity?.Disagreement, diversity?.RatioError, // the ensemble's scores are its variant's
            pair?.A, pair?.B, pair?.MidpointAccuracy, pair?.EndpointMeanAccuracy, pair?.Gap);
        var curve = request.Line is { } line
            ? new InterpolationCurve(
                line.Kind, line.From, line.To, [.. line.Points.Select(p => new InterpolationPoint(p.Lambda, All(p.Blob), p.Blob))],
                line.Baselines is { Count: > 0 } baselines ? [.. baselines.Select(b => new InterpolationPoint(b.Lambda, All(b.Blob), b.Blob))] : null)
            : null;
        return new RoundResult(
            round.Round, round.Init, memberResults, delivered, soupScore.Accuracy, soupScore.Loss, split, diagnostics, missing.Count > 0 ? missing : null,
            null, null, variants, curve, // the soup's and the ensemble's scores are in their variants
            Generation: reports.SelectMany(r => r.Generation) is var generated && generated.Any() ? [.. generated] : null);
    }

    /// <summary>The greedy soup: from the evaluation report, or (rounds before it moved there) from the request.</summary>
    private static (string Checkpoint, IReadOnlyList<int> Members, string Description)? Greedy(
        SummarizeRequest request, EvaluationReport report, IReadOnlyList<MemberResult> members)
    {
        if (report.Greedy is { } built)
        {
            var index = members.ToDictionary(m => m.Checkpoint, m => m.Member, StringComparer.Ordinal);
            List<int> kept = [.. built.Members.Select(c => index.TryGetValue(c, out var i) ? i
                : throw new PipelineFailedException($"round {request.Round.Round}: the greedy soup names '{c}', which is not a member"))];
            var tried = built.Trials.Count;
            return (built.Checkpoint, [.. kept.Order()], string.Create(CultureInfo.InvariantCulture,
                $"greedy soup of members {string.Join(", ", kept)} (in the order added; {tried} more tried, each kept only if validation accuracy did not drop)"));
        }

        if (request.Greedy is { } blob)
        {
            var kept = request.GreedyMembers ?? [];
            return (blob, kept, $"greedy soup of members {string.Join(", ", kept)} (kept while validation accuracy did not drop)");
        }

        return null;
    }
}
