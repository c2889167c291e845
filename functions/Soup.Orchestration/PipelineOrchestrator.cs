using System.Globalization;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// The soup pipeline. Round 0 makes the shared init unless the spec names one; then each round runs as a
/// sub-orchestration (<see cref="RoundOrchestrator"/>, instance <c>{pipelineId}:round-RR</c>) that fans out, fans in,
/// merges and evaluates, and its soup is the next round's init. The pipeline's history grows by a few events per round
/// however many jobs a round has; it keeps every round's result and the best soup so far, and delivers the chosen one.
/// Its input is the stored spec's hash and outline (<see cref="PipelineInput"/>): jobs are planned by the activities
/// that send them, from the stored spec, so no spec and no job list is written to history.
/// </summary>
public sealed class PipelineOrchestrator : TaskOrchestrator<PipelineInput, PipelineResult>
{
    /// <inheritdoc />
    public override async Task<PipelineResult> RunAsync(TaskOrchestrationContext context, PipelineInput input)
    {
        var spec = input?.Outline ?? throw new ArgumentNullException(nameof(input), "the pipeline needs its spec's hash and outline as input");
        var hash = input.SpecHash;
        var id = context.InstanceId;
        var logger = context.CreateReplaySafeLogger<PipelineOrchestrator>();
        var rounds = new List<RoundResult>();
        var progress = new PipelineProgress("pretraining", 0, spec.Rounds, 0, 0, 1, null, null, Name: spec.Name);
        void Report(PipelineProgress p) => context.SetCustomStatus(progress = p);
        var startedAt = context.CurrentUtcDateTime; // for the report (PipelineReports)
        try
        {
            var (init, auxiliary) = await RunInitStagesAsync(context, hash, spec, input.DataVersions, progress, Report);
            var firstInit = init;
            string? stopped = null;
            for (var round = 1; round <= spec.Rounds; round++)
            {
                var best = Best(rounds);
                var instance = LandingEvents.RoundInstance(id, round);
                Report(progress with
                {
                    Phase = "training", Round = round, Landed = 0, Failed = 0, Pending = spec.Members.Count, Dispatch = 1,
                    RoundInstance = instance, BestRound = best?.Round, BestSoupAccuracy = best?.SoupAccuracy,
                });
                var roundInput = new RoundInput(id, spec, round, init, progress.LastSoupAccuracy, best?.Round, best?.SoupAccuracy, round == 1 ? auxiliary : null, hash)
                {
                    DataVersions = input.DataVersions,
                    FirstInit = firstInit,
                };
                var result = await RunRoundAsync(context, roundInput, instance);
                rounds.Add(result);
                logger.LogInformation("Pipeline {PipelineId} round {Round}: soup accuracy {Accuracy:F4}", id, round, result.SoupAccuracy);
                progress = progress with { LastSoupAccuracy = result.SoupAccuracy };
                init = result.Soup;
                if (round < spec.Rounds && StopRule.Check(spec.Stop, rounds) is { } reason)
                {
                    stopped = reason;
                    logger.LogInformation("Pipeline {PipelineId} stops after round {Round}: {Reason}", id, round, reason);
                    break;
                }
            }

            var choice = Choose(rounds, JobPlanner.Splits(spec).First(x => x.Name == spec.Data.EvalSplit).Role == SplitRoles.Validation);
            var top = Best(rounds)!;
            Report(progress with
            {
                Phase = "completed", Round = rounds.Count, Landed = 0, Failed = 0, Pending = 0, RoundInstance = null,
                BestRound = top.Round, BestSoupAccuracy = top.SoupAccuracy, Message = PipelineProgress.Cut(choice.Reason),
            });
            var output = new PipelineResult(id, rounds, choice.Checkpoint, choice, SplitInfos(spec), spec.Recipe, stopped);

            // The report: written to the reports container; a failure to write it is logged, not fatal.
            await PipelineReports.WriteAsync(context, startedAt, "Completed", progress, output, spec.Retry);
            return output;
        }
        catch (Exception ex) when (ex is PipelineFailedException or TaskFailedException)
        {
            Report(progress with { Phase = "failed", RoundInstance = null, Message = PipelineProgress.Cut(ex.Message) });

            // Every end that is not success stops the pipeline's jobs, as a cancellation does: queued or training
            // copies are dropped by their workers instead of burning GPUs for nobody.
            await StopJobsAsync(context, spec, $"the pipeline failed: {PipelineProgress.Cut(ex.Message)}");

            // The report of a failed pipeline: the rounds that completed, and why it failed.
            await PipelineReports.WriteAsync(context, startedAt, "Failed", progress, new PipelineResult(id, rounds, "", null, SplitInfos(spec), spec.Recipe), spec.Retry, ex.Message);
            throw;
        }
    }

    /// <summary>Writes the pipeline's cancellation marker; a failure to write it is logged, never hides the pipeline's own failure.</summary>
    private static async Task StopJobsAsync(TaskOrchestrationContext context, PipelineSpec spec, string reason)
    {
        try
        {
            await context.CallActivityAsync(TaskNames.StopJobs, new StopJobsRequest(context.InstanceId, null, reason), ActivityRetry.Options(spec.Retry));
        }
        catch (TaskFailedException ex)
        {
            context.CreateReplaySafeLogger<PipelineOrchestrator>().LogWarning(
                "Pipeline {PipelineId}: its jobs could not be stopped: {Error}", context.InstanceId, ex.FailureDetails?.ErrorMessage ?? ex.Message);
        }
    }

    private static List<SplitInfo> SplitInfos(PipelineSpec spec) =>
        [.. JobPlanner.Splits(spec).Select(x => new SplitInfo(x.Name, x.Role, x.Description))];

    /// <summary>
    /// The init stages, each waited for like a round's members: pretraining (unless the spec names a checkpoint), the
    /// preference pairs (if the spec makes them), the linear probe (if any; its output is the shared init), and the auxiliary fine-tunings of Model Ratatouille (if any,
    /// all needed). Returns the shared init and the auxiliary checkpoints by name.
    /// </summary>
    private static async Task<(string Init, IReadOnlyDictionary<string, string>? Auxiliary)> RunInitStagesAsync(
        TaskOrchestrationContext context, string hash, PipelineSpec spec, IReadOnlyDictionary<string, string>? dataVersions, PipelineProgress progress, Action<PipelineProgress> report)
    {
        var id = context.InstanceId;
        async Task<IReadOnlyList<string>> Stage(string phase, string stage, string? from)
        {
            var slots = JobPlanner.Slots(spec, stage, 0);
            var start = progress with { Phase = phase, Landed = 0, Failed = 0, Pending = slots.Count, Dispatch = 1 };
            report(start);
            var settings = StageSettings.Of(spec, phase, 0, slots.Count);
            var outcome = await StageRunner.RunAsync(
                context, new DispatchRequest(hash, id, stage, 0, from) { DataVersions = dataVersions }, slots, settings,
                c => report(start with { Landed = c.Landed, Failed = c.Failed, Pending = c.Pending, Dispatch = c.Dispatch }));
            return [.. outcome.Landed.Select(l => l.Notice.BlobName)];
        }

        var init = spec.Init.Checkpoint ?? (await Stage("pretraining", JobStages.Pretrain, null))[0];
        if (spec.Preferences is not null)
        {
            // The preference pairs the reward models train and are scored on, sampled from the init (or the spec's policy).
            await Stage("pairs", JobStages.Pairs, init);
        }

        if (spec.Init.LinearProbe is not null)
        {
            init = (await Stage("probing", JobStages.Probe, init))[0];
        }

        if (spec.Auxiliary is not { Count: > 0 } tasks)
        {
            return (init, null);
        }

        var blobs = await Stage("auxiliary", JobStages.Auxiliary, init);
        return (init, tasks.Select((t, i) => (t.Name, blobs[i])).ToDictionary(x => x.Name, x => x.Item2));
    }

    /// <summary>
    /// Runs one round as a sub-orchestration with a deterministic instance id; its failure fails the pipeline with the
    /// round's own message (the failed or missing jobs and why).
    /// </summary>
    private static async Task<RoundResult> RunRoundAsync(TaskOrchestrationContext context, RoundInput input, string instance)
    {
        try
        {
            return await context.CallSubOrchestratorAsync<RoundResult>(TaskNames.Round, input, new SubOrchestrationOptions { InstanceId = instance });
        }
        catch (TaskFailedException ex) when (ex.FailureDetails?.IsCausedBy<PipelineFailedException>() == true)
        {
            throw new PipelineFailedException(ex.FailureDetails.ErrorMessage);
        }
    }

    /// <summary>The round whose soup scored best on the primary split (the later one on a tie); null before round 1.</summary>
    private static RoundResult? Best(IReadOnlyList<RoundResult> rounds) =>
        rounds.Count == 0 ? null : rounds.Aggregate((best, r) => r.SoupAccuracy >= best.SoupAccuracy ? r : best);

    /// <summary>
    /// The checkpoint the pipeline delivers: the best soup when soups were scored on the validation split (a fair
    /// selection); the last round's soup when they were scored on the test split, since choosing on the test split would
    /// overstate the accuracy reported for the choice.
    /// </summary>
    private static CheckpointChoice Choose(IReadOnlyList<RoundResult> rounds, bool selectionSplit)
    {
        var last = rounds[^1];
        var best = Best(rounds)!;
        if (selectionSplit)
        {
            var why = string.Create(
                CultureInfo.InvariantCulture,
                $"best {best.Split} accuracy of the {rounds.Count} round(s)' soups: round {best.Round}, {best.SoupAccuracy:F4}");
            return new CheckpointChoice(best.Round, best.Soup, best.SoupAccuracy, best.Split, why);
        }

        var reason = string.Create(
            CultureInfo.InvariantCulture,
            $"the last round's soup (round {last.Round}, {last.SoupAccuracy:F4}): soups were scored on the '{last.Split}' split, and choosing among them on it would overstate the accuracy (best there: round {best.Round}, {best.SoupAccuracy:F4})");
        return new CheckpointChoice(last.Round, last.Soup, last.SoupAccuracy, last.Split, reason);
    }
}
