using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// One round of a pipeline, run as the pipeline's sub-orchestration (<c>{pipelineId}:round-RR</c>, see
/// <see cref="LandingEvents.RoundInstance"/>) so that the pipeline's own history stays a few events per round: fans out
/// one fine-tuning job per member, fans in as their checkpoints land (tolerating missing members down to the spec's
/// quorum), merges the landed members, has them and the soup evaluated, and returns the round's result.
/// </summary>
public sealed class RoundOrchestrator : TaskOrchestrator<RoundInput, RoundResult>
{
    /// <inheritdoc />
    public override async Task<RoundResult> RunAsync(TaskOrchestrationContext context, RoundInput input)
    {
        var round = input ?? throw new ArgumentNullException(nameof(input), "a round needs its input");
        var spec = round.Spec;
        var id = round.PipelineId;
        var logger = context.CreateReplaySafeLogger<RoundOrchestrator>();
        var progress = new PipelineProgress(
            "training", round.Round, spec.Rounds, 0, 0, spec.Members.Count, round.LastSoupAccuracy, null, context.InstanceId,
            BestRound: round.BestRound, BestSoupAccuracy: round.BestSoupAccuracy);
        void Report(PipelineProgress p) => context.SetCustomStatus(progress = p);

        try
        {
            var members = JobPlanner.Members(spec, id, round.Round, round.Init, round.Auxiliary);
            var index = members.Select((job, m) => (job.Slot, m)).ToDictionary(x => x.Slot, x => x.m);
            var training = await StageRunner.RunAsync(
                context, id, members,
                StageSettings.Of(spec, "training", round.Round, spec.Members.EffectiveQuorum()),
                c => Report(progress with { Phase = "training", Landed = c.Landed, Failed = c.Failed, Pending = c.Pending, Dispatch = c.Dispatch }));
            var landed = training.Landed.Select(l => (Index: index[l.Job.Slot], Job: (TrainJob)l.Job, l.Notice.BlobName)).ToList();
            var missing = training.Missing.Select(m => new MissingMember(index[m.Job.Slot], m.Job.JobId, m.Reason, m.Dispatches)).ToList();
            if (missing.Count > 0)
            {
                logger.LogWarning(
                    "Pipeline {PipelineId} round {Round}: going on with {Landed} of {Count} members; missing {Missing}",
                    id, round.Round, landed.Count, members.Count, string.Join(", ", missing.Select(m => m.JobId)));
            }

            var memberBlobs = landed.Select(l => l.BlobName).ToList();
            Report(progress with { Phase = "merging", Landed = landed.Count, Failed = missing.Count, Pending = 0, Dispatch = 1 });
            var soupSpec = spec.Soup ?? new SoupSpec();
            var metadata = SoupMetadata(round, memberBlobs.Count, missing);
            var merged = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round.Round), CheckpointLayout.CheckpointFile);
            var weights = spec.Merge.Weights is { } w ? landed.Select(l => w[l.Index]).ToList() : null;
            string? beforeLiti = null;
            if (soupSpec.TowardInit is { } eta)
            {
                // WARP: merge (e.g. SLERP of task vectors), then step back toward the init: init + η·(merged − init).
                beforeLiti = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round.Round, "merge"), CheckpointLayout.CheckpointFile);
                await Merge(context, memberBlobs, beforeLiti, spec.Merge with { Weights = weights }, round.Init, metadata, round.Spec.Retry);
                await Merge(context, [beforeLiti], merged, new Soup.Core.Merging.MergeParameters { Method = "liti", Eta = eta }, round.Init, metadata, round.Spec.Retry);
            }
            else
            {
                await Merge(context, memberBlobs, merged, spec.Merge with { Weights = weights }, round.Init, metadata, round.Spec.Retry);
            }

            var line = await InterpolateAsync(context, round, soupSpec.Interpolation, landed.Select(l => (l.Index, l.BlobName)).ToList(), metadata);

            List<string> checkpoints = [.. memberBlobs, merged];
            if (beforeLiti is not null)
            {
                checkpoints.Add(beforeLiti);
            }

            checkpoints.AddRange(line?.Points.Select(p => p.Blob).Where(b => !checkpoints.Contains(b)) ?? []);
            var evaluation = JobPlanner.Evaluation(spec, id, round.Round, checkpoints, members: memberBlobs.Count);
            var report = await EvaluateAsync(context, round, evaluation, "evaluating", Report, progress);
            var scores = Scores(report);

            Greedy? greedy = null;
            if (soupSpec.MakesGreedy())
            {
                greedy = await GreedyAsync(context, round, landed.Select(l => (l.Index, l.BlobName)).ToList(), scores, metadata, Report, progress);
            }

            var result = Summarize(
                round, landed.Select(l => (l.Index, l.Job)).ToList(), report, scores, missing,
                new RoundSoups(merged, beforeLiti, greedy, line));
            Report(progress with { Phase = "completed", Pending = 0, LastSoupAccuracy = result.SoupAccuracy });
            return result;
        }
        catch (Exception ex) when (ex is PipelineFailedException or TaskFailedException)
        {
            Report(progress with { Phase = "failed", Message = PipelineProgress.Cut(ex.Message) });
            throw;
        }
    }

    private static Task<MergeOutcome> Merge(
        TaskOrchestrationContext context, IReadOnlyList<string> members, string output, Soup.Core.Merging.MergeParameters parameters, string @base,
        IReadOnlyDictionary<string, string> metadata, RetrySpec? retrySpec)
    {
        var retry = ActivityRetry.Options(retrySpec);
        return
        context.CallActivityAsync<MergeOutcome>(TaskNames.MergeCheckpoints, new MergeRequest(members, output, parameters, @base, metadata), retry);
    }

    /// <summary>Runs one evaluation job as a stage of its own and reads its report.</summary>
    private static async Task<EvaluationReport> EvaluateAsync(
        TaskOrchestrationContext context, RoundInput round, EvaluateJob job, string phase, Action<PipelineProgress> report, PipelineProgress progress)
    {
        var spec = round.Spec;
        var evaluated = await StageRunner.RunAsync(
            context, round.PipelineId, [job],
            StageSettings.Of(spec, phase, round.Round, 1),
            c => report(progress with { Phase = phase, Pending = c.Pending, Dispatch = c.Dispatch }));
        return await context.CallActivityAsync<EvaluationReport>(TaskNames.ReadEvaluation, evaluated.Landed[0].Notice.BlobName, ActivityRetry.Options(spec.Retry));
    }

    /// <summary>Every checkpoint's scores in a report, the report's split order.</summary>
    private static Dictionary<string, IReadOnlyList<SplitAccuracy>> Scores(EvaluationReport report)
    {
        var order = report.Splits.Select((s, i) => (s.Name, i)).ToDictionary(x => x.Name, x => x.i);
        return report.Scores.GroupBy(s => s.Checkpoint).ToDictionary(
            g => g.Key,
            g => (IReadOnlyList<SplitAccuracy>)[.. g.OrderBy(s => order.GetValueOrDefault(s.Split, int.MaxValue)).Select(s => new SplitAccuracy(s.Split, s.Accuracy, s.Loss))]);
    }

    /// <summary>
    /// Members best first by validation accuracy (the lower index first on a tie): the order the greedy soup tries them
    /// in, and the ERM choice (the first).
    /// </summary>
    private static List<(int Index, string Blob)> RankedOnValidation(
        IReadOnlyList<(int Index, string Blob)> members, Dictionary<string, IReadOnlyList<SplitAccuracy>> scores) =>
        [.. members.OrderByDescending(m => Validation(scores[m.Blob])).ThenBy(m => m.Index)];

    private static double Validation(IReadOnlyList<SplitAccuracy> scores) =>
        scores.FirstOrDefault(s => s.Split == "validation")?.Accuracy ?? double.NaN;

    /// <summary>
    /// The models on the line between two members at evenly spaced λ (the members themselves at the ends), merged in
    /// parallel; null when the spec asks for none or one of the two members is missing.
    /// </summary>
    private static async Task<Line?> InterpolateAsync(
        TaskOrchestrationContext context, RoundInput round, InterpolationSpec? spec, IReadOnlyList<(int Index, string Blob)> members,
        IReadOnlyDictionary<string, string> metadata)
    {
        if (spec is null || members.FirstOrDefault(m => m.Index == spec.From).Blob is not { } from || members.FirstOrDefault(m => m.Index == spec.To).Blob is not { } to)
        {
            return null;
        }

        var points = new List<(double Lambda, string Blob)>();
        var merges = new List<Task<MergeOutcome>>();
        for (var k = 0; k < spec.Points; k++)
        {
            var lambda = (double)k / (spec.Points - 1);
            if (k == 0 || k == spec.Points - 1)
            {
                points.Add((lambda, k == 0 ? from : to));
                continue;
            }

            var blob = CheckpointLayout.Blob(
                round.PipelineId, CheckpointLayout.SoupSlot(round.Round, string.Create(CultureInfo.InvariantCulture, $"lerp-{k:D3}")), CheckpointLayout.CheckpointFile);
            points.Add((lambda, blob));
            merges.Add(Merge(
                context, [from, to], blob, new Soup.Core.Merging.MergeParameters { Method = "linear", Weights = [1 - lambda, lambda], Normalize = false },
                round.Init, metadata, round.Spec.Retry));
        }

        await Task.WhenAll(merges);
        return new Line(round.Spec.Recipe == "rewarded" ? "rewards" : "members", from, to, points);
    }

    /// <summary>
    /// The greedy soup (Wortsman et al.; DiWA restricted): members ranked by validation accuracy; the best alone first;
    /// each next member is kept only if the soup with it scores at least as well on validation. Each candidate is merged
    /// and evaluated in turn (it depends on the previous choice).
    /// </summary>
    private static async Task<Greedy> GreedyAsync(
        TaskOrchestrationContext context, RoundInput round, IReadOnlyList<(int Index, string Blob)> members,
        Dictionary<string, IReadOnlyList<SplitAccuracy>> scores, IReadOnlyDictionary<string, string> metadata,
        Action<PipelineProgress> report, PipelineProgress progress)
    {
        var ranked = RankedOnValidation(members, scores);
        var kept = new List<(int Index, string Blob)> { ranked[0] };
        var blob = ranked[0].Blob;
        var best = Validation(scores[blob]);
        for (var k = 1; k < ranked.Count; k++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"greedy-{k:D2}");
            var candidate = CheckpointLayout.Blob(round.PipelineId, CheckpointLayout.SoupSlot(round.Round, name), CheckpointLayout.CheckpointFile);
            var ingredients = kept.Append(ranked[k]).ToList();
            report(progress with { Phase = "greedy", Message = string.Create(CultureInfo.InvariantCulture, $"greedy soup: trying member {ranked[k].Index} ({k} of {ranked.Count - 1})") });
            await Merge(context, [.. ingredients.Select(i => i.Blob)], candidate, round.Spec.Merge with { Weights = null }, round.Init, metadata, round.Spec.Retry);
            var job = JobPlanner.Evaluation(round.Spec, round.PipelineId, round.Round, [candidate], members: 0) with
            {
                Slot = CheckpointLayout.EvaluationSlot(round.Round, name),
            };
            var evaluated = Scores(await EvaluateAsync(context, round, job, "greedy", report, progress));
            scores[candidate] = evaluated[candidate];
            var accuracy = Validation(evaluated[candidate]);
            if (accuracy >= best)
            {
                (kept, blob, best) = (ingredients, candidate, accuracy);
            }
        }

        return new Greedy(blob, [.. kept.Select(k => k.Index).Order()]);
    }

    private static RoundResult Summarize(
        RoundInput round, IReadOnlyList<(int Index, TrainJob Job)> members, EvaluationReport report,
        Dictionary<string, IReadOnlyList<SplitAccuracy>> scores, IReadOnlyList<MissingMember> missing, RoundSoups soups)
    {
        var spec = round.Spec;
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
        var best = RankedOnValidation([.. memberResults.Select(m => (m.Member, m.Checkpoint))], scores)[0];
        var erm = memberResults.Single(m => m.Member == best.Index);
        var everyone = memberResults.Select(m => m.Member).ToList();
        var method = spec.Merge.Method == "linear" && spec.Merge.Weights is null ? "uniform" : spec.Merge.Method;
        var variants = new List<SoupVariant>
        {
            new("erm", erm.Checkpoint, [erm.Member], erm.Scores!, $"the best single member on validation (member {erm.Member})"),
        };
        if (soups.BeforeLiti is { } before)
        {
            variants.Add(new(method, before, everyone, All(before), $"{method} merge of the {everyone.Count} members"));
            variants.Add(new(
                $"{method}+liti", soups.Merged, everyone, All(soups.Merged),
                string.Create(CultureInfo.InvariantCulture, $"the {method} merge moved back toward the init by η = {spec.Soup!.TowardInit}")));
        }
        else
        {
            variants.Add(new(method, soups.Merged, everyone, All(soups.Merged), $"{method} merge of the {everyone.Count} members"));
        }

        if (soups.Greedy is { } greedy)
        {
            variants.Add(new("greedy", greedy.Blob, greedy.Members, All(greedy.Blob), $"greedy soup of members {string.Join(", ", greedy.Members)} (kept while validation accuracy did not drop)"));
        }

        IReadOnlyList<SplitAccuracy>? ensembleScores = report.Ensemble.Count > 0 ? [.. report.Ensemble.Select(e => new SplitAccuracy(e.Split, e.Accuracy, e.Loss))] : null;
        if (ensembleScores is not null)
        {
            variants.Add(new("ensemble", null, everyone, ensembleScores, $"prediction ensemble of the {everyone.Count} members (one forward pass each)"));
        }

        var delivered = (spec.Soup?.Select ?? SoupSelections.All) switch
        {
            SoupSelections.Greedy => soups.Greedy!.Blob,
            SoupSelections.Best => erm.Checkpoint,
            _ => soups.Merged,
        };
        var soupScore = Primary(delivered);
        var ensemble = report.Ensemble.FirstOrDefault(e => e.Split == split);
        var diversity = report.Diversity.FirstOrDefault(d => d.Split == split);
        var pair = report.Connectivity.FirstOrDefault(c => c.Split == split);
        var diagnostics = new RoundDiagnostics(
            ensemble?.Accuracy, ensemble?.Loss, diversity?.Disagreement, diversity?.RatioError,
            pair?.A, pair?.B, pair?.MidpointAccuracy, pair?.EndpointMeanAccuracy, pair?.Gap);
        var curve = soups.Line is { } line
            ? new InterpolationCurve(line.Kind, line.From, line.To, [.. line.Points.Select(p => new InterpolationPoint(p.Lambda, All(p.Blob)))])
            : null;
        return new RoundResult(
            round.Round, round.Init, memberResults, delivered, soupScore.Accuracy, soupScore.Loss, split, diagnostics, missing.Count > 0 ? missing : null,
            All(delivered), ensembleScores, variants, curve);
    }

    /// <summary>What a round merged: the merge of all members (after LITI if any), the merge before LITI, the greedy soup, the line.</summary>
    private sealed record RoundSoups(string Merged, string? BeforeLiti, Greedy? Greedy, Line? Line);

    /// <summary>The greedy soup's blob and the members in it.</summary>
    private sealed record Greedy(string Blob, IReadOnlyList<int> Members);

    /// <summary>An interpolation line's checkpoints by λ.</summary>
    private sealed record Line(string Kind, string From, string To, IReadOnlyList<(double Lambda, string Blob)> Points);

    private static Dictionary<string, string> SoupMetadata(RoundInput round, int merged, IReadOnlyList<MissingMember> missing)
    {
        var metadata = new Dictionary<string, string>
        {
            ["pipeline"] = round.PipelineId,
            ["round"] = round.Round.ToString(CultureInfo.InvariantCulture),
            ["merge_method"] = round.Spec.Merge.Method,
            ["members"] = merged.ToString(CultureInfo.InvariantCulture),
            ["base_checkpoint"] = round.Init,
        };
        if (missing.Count > 0)
        {
            metadata["missing_members"] = string.Join(",", missing.Select(m => m.Member.ToString(CultureInfo.InvariantCulture)));
        }

        return metadata;
    }
}
