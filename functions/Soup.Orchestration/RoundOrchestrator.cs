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
                new StageSettings("training", round.Round, spec.Members.EffectiveQuorum(), spec.Members.EffectiveRetries(), spec.RoundTimeout),
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
            var soup = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round.Round), CheckpointLayout.CheckpointFile);
            var weights = spec.Merge.Weights is { } w ? landed.Select(l => w[l.Index]).ToList() : null;
            await context.CallActivityAsync<MergeOutcome>(
                TaskNames.MergeCheckpoints,
                new MergeRequest(memberBlobs, soup, spec.Merge with { Weights = weights }, round.Init, SoupMetadata(round, memberBlobs.Count, missing)));

            var evaluation = JobPlanner.Evaluation(spec, id, round.Round, [.. memberBlobs, soup]);
            var evaluated = await StageRunner.RunAsync(
                context, id, [evaluation],
                new StageSettings("evaluating", round.Round, 1, spec.Members.EffectiveRetries(), spec.RoundTimeout),
                c => Report(progress with { Phase = "evaluating", Pending = c.Pending, Dispatch = c.Dispatch }));
            var report = await context.CallActivityAsync<EvaluationReport>(TaskNames.ReadEvaluation, evaluated.Landed[0].Notice.BlobName);

            var result = Summarize(round, landed.Select(l => (l.Index, l.Job)).ToList(), report, soup, missing);
            Report(progress with { Phase = "completed", Pending = 0, LastSoupAccuracy = result.SoupAccuracy });
            return result;
        }
        catch (Exception ex) when (ex is PipelineFailedException or TaskFailedException)
        {
            Report(progress with { Phase = "failed", Message = PipelineProgress.Cut(ex.Message) });
            throw;
        }
    }

    private static RoundResult Summarize(
        RoundInput round, IReadOnlyList<(int Index, TrainJob Job)> members, EvaluationReport report, string soup, IReadOnlyList<MissingMember> missing)
    {
        var split = report.PrimarySplit;
        var scores = report.Scores.ToLookup(s => s.Checkpoint);
        var order = report.Splits.Select((s, i) => (s.Name, i)).ToDictionary(x => x.Name, x => x.i);
        IReadOnlyList<SplitAccuracy> All(string blob) =>
            [.. scores[blob].OrderBy(s => order.GetValueOrDefault(s.Split, int.MaxValue)).Select(s => new SplitAccuracy(s.Split, s.Accuracy, s.Loss))];
        SplitAccuracy Primary(string blob) => All(blob).FirstOrDefault(s => s.Split == split)
            ?? throw new PipelineFailedException($"round {round.Round}: the evaluation report has no score for '{blob}'");

        var memberResults = members.Select(member =>
        {
            var blob = CheckpointLayout.Blob(member.Job.PipelineId, member.Job.Slot, CheckpointLayout.CheckpointFile);
            var score = Primary(blob);
            var init = member.Job.InitCheckpoint != round.Init ? member.Job.InitCheckpoint : null;
            return new MemberResult(
                member.Index, member.Job.Settings.LearningRate, member.Job.Settings.Seed, blob, score.Accuracy, score.Loss, All(blob), member.Job.Settings, init);
        }).ToList();
        var soupScore = Primary(soup);
        var ensemble = report.Ensemble.FirstOrDefault(e => e.Split == split);
        var diversity = report.Diversity.FirstOrDefault(d => d.Split == split);
        var pair = report.Connectivity.FirstOrDefault(c => c.Split == split);
        var diagnostics = new RoundDiagnostics(
            ensemble?.Accuracy, ensemble?.Loss, diversity?.Disagreement, diversity?.RatioError,
            pair?.A, pair?.B, pair?.MidpointAccuracy, pair?.EndpointMeanAccuracy, pair?.Gap);
        return new RoundResult(
            round.Round, round.Init, memberResults, soup, soupScore.Accuracy, soupScore.Loss, split, diagnostics, missing.Count > 0 ? missing : null,
            All(soup), report.Ensemble.Count > 0 ? [.. report.Ensemble.Select(e => new SplitAccuracy(e.Split, e.Accuracy, e.Loss))] : null);
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
