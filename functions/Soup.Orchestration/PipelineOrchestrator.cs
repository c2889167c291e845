using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// The soup pipeline. Round 0 makes the shared init unless the spec names one; then each round fans out one
/// fine-tuning job per member, fans in as their checkpoints land, merges them, has members and soup evaluated,
/// and hands the soup to the next round as its init.
/// </summary>
public sealed class PipelineOrchestrator : TaskOrchestrator<PipelineSpec, PipelineResult>
{
    /// <inheritdoc />
    public override async Task<PipelineResult> RunAsync(TaskOrchestrationContext context, PipelineSpec input)
    {
        var spec = input ?? throw new ArgumentNullException(nameof(input), "the pipeline needs its spec as input");
        var id = context.InstanceId;
        var logger = context.CreateReplaySafeLogger<PipelineOrchestrator>();
        var rounds = new List<RoundResult>();
        double? lastAccuracy = null;
        var current = 0;
        try
        {
            var init = spec.Init.Checkpoint;
            if (init is null)
            {
                Report(context, "pretraining", 0, spec.Rounds, 0, 0, 1, null);
                var landed = await RunJobsAsync(context, spec, [JobPlanner.Pretrain(spec, id)], 0, null, "pretraining");
                init = landed[0].BlobName;
            }

            for (var round = 1; round <= spec.Rounds; round++)
            {
                current = round;
                var members = JobPlanner.Members(spec, id, round, init);
                var landed = await RunJobsAsync(context, spec, members, round, lastAccuracy);
                var memberBlobs = landed.Select(l => l.BlobName).ToList();

                Report(context, "merging", round, spec.Rounds, members.Count, 0, 0, lastAccuracy);
                var soup = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round), CheckpointLayout.CheckpointFile);
                await context.CallActivityAsync<MergeOutcome>(
                    TaskNames.MergeCheckpoints,
                    new MergeRequest(memberBlobs, soup, spec.Merge, init, SoupMetadata(id, round, spec, init)));

                Report(context, "evaluating", round, spec.Rounds, members.Count, 0, 0, lastAccuracy);
                var evaluation = JobPlanner.Evaluation(spec, id, round, [.. memberBlobs, soup]);
                var reportBlob = (await RunJobsAsync(context, spec, [evaluation], round, lastAccuracy, "evaluating"))[0].BlobName;
                var report = await context.CallActivityAsync<EvaluationReport>(TaskNames.ReadEvaluation, reportBlob);

                var result = Summarize(round, init, members, report, soup);
                rounds.Add(result);
                lastAccuracy = result.SoupAccuracy;
                logger.LogInformation("Pipeline {PipelineId} round {Round}: soup accuracy {Accuracy:F4}", id, round, result.SoupAccuracy);
                init = soup;
            }

            Report(context, "completed", spec.Rounds, spec.Rounds, 0, 0, 0, lastAccuracy);
            return new PipelineResult(id, rounds, init);
        }
        catch (Exception ex) when (ex is PipelineFailedException or TaskFailedException)
        {
            Report(context, "failed", current, spec.Rounds, 0, 0, 0, lastAccuracy, ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Sends jobs and waits until each has landed, failing fast on a failure record. At the round deadline it looks in
    /// the container for landings whose notification was lost before it gives up.
    /// </summary>
    private static async Task<IReadOnlyList<LandingNotice>> RunJobsAsync(
        TaskOrchestrationContext context, PipelineSpec spec, IReadOnlyList<Job> jobs, int round, double? lastAccuracy, string phase = "training")
    {
        // An array of the base type, so that each job is serialized with its "kind" discriminator.
        Job[] batch = [.. jobs];
        await context.CallActivityAsync(TaskNames.DispatchJobs, batch);
        using var cancel = new CancellationTokenSource();
        var deadline = context.CreateTimer(context.CurrentUtcDateTime + spec.RoundTimeout, cancel.Token);
        var landed = new Dictionary<string, LandingNotice>();
        try
        {
            var waits = jobs.Select(j => context.WaitForExternalEvent<LandingNotice>(LandingEvents.Name(j.Slot), cancel.Token)).ToList();
            var pending = new List<Task<LandingNotice>>(waits);
            while (pending.Count > 0)
            {
                Report(context, phase, round, spec.Rounds, landed.Count, 0, pending.Count, lastAccuracy);
                var next = await Task.WhenAny([.. pending, deadline]);
                if (next == deadline)
                {
                    var missing = jobs.Where(j => !landed.ContainsKey(j.Slot)).Select(j => j.Slot).ToList();
                    var found = await context.CallActivityAsync<IReadOnlyList<LandingNotice>>(
                        TaskNames.ReconcileLandings, new ReconcileRequest(context.InstanceId, missing));
                    foreach (var notice in found)
                    {
                        Accept(landed, notice);
                    }

                    var stillMissing = missing.Where(s => !landed.ContainsKey(s)).ToList();
                    if (stillMissing.Count > 0)
                    {
                        throw new PipelineFailedException(
                            $"round {round}: {stillMissing.Count} job(s) did not land within {spec.RoundTimeout}: {string.Join(", ", stillMissing)}");
                    }

                    break;
                }

                var task = (Task<LandingNotice>)next;
                pending.Remove(task);
                Accept(landed, await task);
            }
        }
        finally
        {
            // Cancel the deadline timer whichever way the stage ends: an open timer keeps a failed orchestration Running.
            // Synchronous on purpose: CancelAsync would resume outside the orchestration's replay-safe scheduler.
#pragma warning disable CA1849
            cancel.Cancel();
#pragma warning restore CA1849
        }

        return [.. jobs.Select(j => landed[j.Slot])];
    }

    private static void Accept(Dictionary<string, LandingNotice> landed, LandingNotice notice)
    {
        if (notice.Kind == LandingKind.Failure)
        {
            throw new PipelineFailedException($"job '{notice.Slot}' failed: {notice.Reason ?? "no reason recorded"} (see {notice.BlobName})");
        }

        landed[notice.Slot] = notice;
    }

    private static RoundResult Summarize(int round, string init, IReadOnlyList<TrainJob> members, EvaluationReport report, string soup)
    {
        var split = report.PrimarySplit;
        var scores = report.Scores.Where(s => s.Split == split).ToDictionary(s => s.Checkpoint);
        CheckpointScore Score(string blob) => scores.TryGetValue(blob, out var s)
            ? s
            : throw new PipelineFailedException($"round {round}: the evaluation report has no score for '{blob}'");

        var memberResults = members.Select((job, m) =>
        {
            var blob = CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.CheckpointFile);
            var score = Score(blob);
            return new MemberResult(m, job.Settings.LearningRate, job.Settings.Seed, blob, score.Accuracy, score.Loss);
        }).ToList();
        var soupScore = Score(soup);
        var ensemble = report.Ensemble.FirstOrDefault(e => e.Split == split);
        var diversity = report.Diversity.FirstOrDefault(d => d.Split == split);
        var pair = report.Connectivity.FirstOrDefault(c => c.Split == split);
        var diagnostics = new RoundDiagnostics(
            ensemble?.Accuracy, ensemble?.Loss, diversity?.Disagreement, diversity?.RatioError,
            pair?.A, pair?.B, pair?.MidpointAccuracy, pair?.EndpointMeanAccuracy, pair?.Gap);
        return new RoundResult(round, init, memberResults, soup, soupScore.Accuracy, soupScore.Loss, split, diagnostics);
    }

    private static Dictionary<string, string> SoupMetadata(string id, int round, PipelineSpec spec, string init) => new()
    {
        ["pipeline"] = id,
        ["round"] = round.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["merge_method"] = spec.Merge.Method,
        ["members"] = spec.Members.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["base_checkpoint"] = init,
    };

    private static void Report(
        TaskOrchestrationContext context, string phase, int round, int rounds, int landed, int failed, int pending, double? accuracy, string? message = null) =>
        context.SetCustomStatus(new PipelineProgress(phase, round, rounds, landed, failed, pending, accuracy, message));
}
