using Soup.Core.Jobs;
using Soup.Merging;
using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// One round of a pipeline, run as the pipeline's sub-orchestration (<c>{pipelineId}:round-RR</c>, see
/// <see cref="LandingEvents.RoundInstance"/>) so that the pipeline's own history stays a few events per round: fans out
/// one fine-tuning job per member, fans in as their checkpoints land (tolerating missing members down to the spec's
/// quorum), merges the landed members, has them and the soup evaluated, and returns the round's result. Its input
/// holds the spec's outline and hash: the jobs are planned by the dispatch activity from the stored spec, and the
/// round's result by <see cref="TaskNames.SummarizeRound"/> from the spec and the evaluation reports, so neither the
/// jobs nor the reports are written to history. The greedy soup, when the spec asks for it, is built by the evaluation
/// job (<see cref="GreedySoupPlan"/>).
/// </summary>
public sealed class RoundOrchestrator : TaskOrchestrator<RoundInput, RoundResult>
{
    /// <inheritdoc />
    public override async Task<RoundResult> RunAsync(TaskOrchestrationContext context, RoundInput input)
    {
        var round = input ?? throw new ArgumentNullException(nameof(input), "a round needs its input");
        var spec = round.Spec;
        var id = round.PipelineId;
        var hash = round.SpecHash ?? throw new ArgumentException("a round needs its stored spec's hash", nameof(input));
        var logger = context.CreateReplaySafeLogger<RoundOrchestrator>();
        var progress = new PipelineProgress(
            "training", round.Round, spec.Rounds, 0, 0, spec.Members.Count, round.LastSoupAccuracy, null, context.InstanceId,
            BestRound: round.BestRound, BestSoupAccuracy: round.BestSoupAccuracy);
        void Report(PipelineProgress p) => context.SetCustomStatus(progress = p);

        try
        {
            // The members, then any MORL baselines (index Count + k): trained in the same fan-out, never merged. Every
            // baseline counts toward the quorum, so a failed one uses the members' slack.
            var slots = JobPlanner.Slots(spec, JobStages.Members, round.Round);
            var index = slots.Select((slot, m) => (slot, m)).ToDictionary(x => x.slot, x => x.m);
            var morl = spec.Soup?.Interpolation?.Morl ?? [];
            var training = await StageRunner.RunAsync(
                context, new DispatchRequest(hash, id, JobStages.Members, round.Round, round.Init, round.Auxiliary) { DataVersions = round.DataVersions }, slots,
                StageSettings.Of(spec, "training", round.Round, spec.Members.EffectiveQuorum() + morl.Count),
                c => Report(progress with { Phase = "training", Landed = c.Landed, Failed = c.Failed, Pending = c.Pending, Dispatch = c.Dispatch }));
            var landed = training.Landed.Select(l => (Index: index[l.Slot], l.Notice.BlobName)).Where(l => l.Index < spec.Members.Count).ToList();
            var baselines = training.Landed.Select(l => (Index: index[l.Slot] - spec.Members.Count, l.Notice.BlobName)).Where(l => l.Index >= 0)
                .OrderBy(l => morl[l.Index]).Select(l => new LinePoint(morl[l.Index], l.BlobName)).ToList();
            var missing = training.Missing.Select(m => new MissingMember(index[m.Slot], $"{id}/{m.Slot}", m.Reason, m.Dispatches)).ToList();
            if (missing.Count > 0)
            {
                logger.LogWarning(
                    "Pipeline {PipelineId} round {Round}: going on with {Landed} of {Count} members; missing {Missing}",
                    id, round.Round, landed.Count, slots.Count, string.Join(", ", missing.Select(m => m.JobId)));
            }

            var memberBlobs = landed.Select(l => l.BlobName).ToList();
            Report(progress with { Phase = "merging", Landed = landed.Count, Failed = missing.Count, Pending = 0, Dispatch = 1 });
            var soupSpec = spec.Soup ?? new SoupSpec();
            var metadata = SoupMetadata(round, memberBlobs.Count, missing);
            var merged = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round.Round), CheckpointLayout.CheckpointFile);
            var weights = spec.Merge.Weights is { } w ? landed.Select(l => w[l.Index]).ToList() : null;
            string? beforeLiti = null;
            List<LinePoint>? sweep = null;
            if (soupSpec.TowardInit is { } eta)
            {
                // WARP: merge (e.g. SLERP of task vectors), then step back toward the init: init + η·(merged − init); the
                // other η of the sweep from the same merge, in parallel.
                beforeLiti = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round.Round, "merge"), CheckpointLayout.CheckpointFile);
                await Merge(context, memberBlobs, beforeLiti, spec.Merge with { Weights = weights }, round.Init, metadata, round.Spec.Retry);
                sweep = [.. (soupSpec.TowardInitSweep ?? []).Order().Select(e => new LinePoint(
                    e, CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round.Round, string.Create(CultureInfo.InvariantCulture, $"eta-{Math.Round(e * 1000):000}")), CheckpointLayout.CheckpointFile)))];
                await Task.WhenAll([
                    Merge(context, [beforeLiti], merged, new Soup.Merging.MergeParameters { Method = MergeMethods.Liti, Eta = eta }, round.Init, metadata, round.Spec.Retry),
                    .. sweep.Select(point => Merge(context, [beforeLiti], point.Blob, new Soup.Merging.MergeParameters { Method = MergeMethods.Liti, Eta = point.Lambda }, round.Init, metadata, round.Spec.Retry)),
                ]);
            }
            else
            {
                await Merge(context, memberBlobs, merged, spec.Merge with { Weights = weights }, round.Init, metadata, round.Spec.Retry);
            }

            var line = await InterpolateAsync(context, round, soupSpec.Interpolation, landed, metadata);
            if (line is not null && baselines.Count > 0)
            {
                line = line with { Baselines = baselines };
            }

            List<string> checkpoints = [.. memberBlobs, merged];
            if (beforeLiti is not null)
            {
                checkpoints.Add(beforeLiti);
                checkpoints.AddRange(sweep?.Select(p => p.Blob) ?? []);
            }

            checkpoints.AddRange(line?.Points.Select(p => p.Blob).Where(b => !checkpoints.Contains(b)) ?? []);
            checkpoints.AddRange(baselines.Select(b => b.Blob));
            // The greedy soup is built by the evaluation job itself, from the members' validation scores it has just
            // computed: candidates merged and scored in memory, one job instead of a merge and an evaluation per member.
            var greedy = soupSpec.MakesGreedy()
                ? new GreedySoupPlan(
                    [.. Enumerable.Range(0, memberBlobs.Count)], SplitRoles.Validation, spec.Merge with { Weights = null },
                    MergeMethodFactory.UsesBase(spec.Merge.Method) ? round.Init : null, metadata)
                : null;
            var evaluation = await EvaluateAsync(context, round, new EvaluationPlan(checkpoints, memberBlobs.Count, Greedy: greedy)
            {
                Reference = spec.Evaluation?.Generation?.KlTo == GenerationReferences.FirstInit ? round.FirstInit : null,
            }, "evaluating", Report, progress);
            var result = await context.CallActivityAsync<RoundResult>(
                TaskNames.SummarizeRound,
                new SummarizeRequest(hash, round, [.. landed.Select(l => l.Index)], missing, [evaluation], merged, beforeLiti, null, null, line) { TowardInitSweep = sweep },
                ActivityRetry.Options(spec.Retry));
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
        TaskOrchestrationContext context, IReadOnlyList<string> members, string output, Soup.Merging.MergeParameters parameters, string @base,
        IReadOnlyDictionary<string, string> metadata, RetrySpec? retrySpec)
    {
        var retry = ActivityRetry.Options(retrySpec);
        return
        context.CallActivityAsync<MergeOutcome>(TaskNames.MergeCheckpoints, new MergeRequest(members, output, parameters, @base, metadata), retry);
    }

    /// <summary>Runs one evaluation job as a stage of its own; returns its report's blob name.</summary>
    private static async Task<string> EvaluateAsync(
        TaskOrchestrationContext context, RoundInput round, EvaluationPlan plan, string phase, Action<PipelineProgress> report, PipelineProgress progress)
    {
        var spec = round.Spec;
        var evaluated = await StageRunner.RunAsync(
            context, new DispatchRequest(round.SpecHash!, round.PipelineId, JobStages.Evaluation, round.Round, round.Init, Evaluation: plan) { DataVersions = round.DataVersions },
            JobPlanner.Slots(spec, JobStages.Evaluation, round.Round, plan),
            StageSettings.Of(spec, phase, round.Round, 1),
            c => report(progress with { Phase = phase, Pending = c.Pending, Dispatch = c.Dispatch }));
        return evaluated.Landed[0].Notice.BlobName;
    }

    /// <summary>
    /// The models on the line between two members at evenly spaced λ (the members themselves at the ends), merged in
    /// parallel; null when the spec asks for none or one of the two members is missing.
    /// </summary>
    private static async Task<InterpolationLine?> InterpolateAsync(
        TaskOrchestrationContext context, RoundInput round, InterpolationSpec? spec, IReadOnlyList<(int Index, string Blob)> members,
        IReadOnlyDictionary<string, string> metadata)
    {
        if (spec is null || members.FirstOrDefault(m => m.Index == spec.From).Blob is not { } from || members.FirstOrDefault(m => m.Index == spec.To).Blob is not { } to)
        {
            return null;
        }

        var points = new List<LinePoint>();
        var merges = new List<Task<MergeOutcome>>();
        for (var k = 0; k < spec.Points; k++)
        {
            var lambda = (double)k / (spec.Points - 1);
            if (k == 0 || k == spec.Points - 1)
            {
                points.Add(new(lambda, k == 0 ? from : to));
                continue;
            }

            var blob = CheckpointLayout.Blob(
                round.PipelineId, CheckpointLayout.SoupSlot(round.Round, string.Create(CultureInfo.InvariantCulture, $"lerp-{k:D3}")), CheckpointLayout.CheckpointFile);
            points.Add(new(lambda, blob));
            merges.Add(Merge(
                context, [from, to], blob, new Soup.Merging.MergeParameters { Method = MergeMethods.Linear, Weights = [1 - lambda, lambda], Normalize = false },
                round.Init, metadata, round.Spec.Retry));
        }

        await Task.WhenAll(merges);
        return new InterpolationLine(round.Spec.Recipe == Recipes.Rewarded ? "rewards" : "members", from, to, points);
    }

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
