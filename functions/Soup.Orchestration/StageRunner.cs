using System.Globalization;
using Microsoft.DurableTask;
using Soup.Core.Jobs;

namespace Soup.Orchestration;

/// <summary>How one stage (the init, a round's members, a round's evaluation) waits for its jobs.</summary>
/// <param name="Phase">The phase reported while it waits.</param>
/// <param name="Round">The round (0: the init stage).</param>
/// <param name="Quorum">The fewest landed jobs the stage can go on with.</param>
/// <param name="Retries">How many times jobs missing at a deadline are sent again.</param>
/// <param name="Deadline">How long each dispatch may take.</param>
internal sealed record StageSettings(string Phase, int Round, int Quorum, int Retries, TimeSpan Deadline);

/// <summary>A stage's outcome: the landed jobs' notices in job order, and the jobs it goes on without.</summary>
internal sealed record StageOutcome(IReadOnlyList<(Job Job, LandingNotice Notice)> Landed, IReadOnlyList<(Job Job, string Reason, int Dispatches)> Missing);

/// <summary>The counts a stage reports while it waits.</summary>
internal readonly record struct StageCounts(int Landed, int Failed, int Pending, int Dispatch);

/// <summary>
/// Fan-out and fault-tolerant fan-in of one stage, inside an orchestration: dispatches the jobs and waits on one
/// landing event per slot, after one look in the container for jobs that landed before it waited. A duplicate landing
/// counts once; a failure record completes its job as failed at once. At
/// each deadline it first lists the container for landings whose notification was lost, then sends the still-missing
/// jobs again (same job ids: a job that did finish writes nothing twice), up to the retries. It fails as soon as the
/// quorum can no longer be met, naming the failed and missing jobs; otherwise it returns what landed.
/// </summary>
internal static class StageRunner
{
    public static async Task<StageOutcome> RunAsync(
        TaskOrchestrationContext context, string pipelineId, IReadOnlyList<Job> jobs, StageSettings settings, Action<StageCounts> report)
    {
        // An array of the base type, so that each job is serialized with its "kind" discriminator.
        Job[] batch = [.. jobs];
        await context.CallActivityAsync(TaskNames.DispatchJobs, batch);

        var bySlot = jobs.ToDictionary(j => j.Slot);
        var landed = new Dictionary<string, LandingNotice>();
        var failed = new Dictionary<string, LandingNotice>();
        var pending = jobs.Select(j => j.Slot).ToList(); // job order: deterministic on replay, unlike a hash set
        using var stop = new CancellationTokenSource();
        var waits = jobs.ToDictionary(j => j.Slot, j => context.WaitForExternalEvent<LandingNotice>(LandingEvents.Name(j.Slot), stop.Token));
        var dispatches = 1;
        try
        {
            // A job may have landed before the instance that awaits it existed (a round is created after its pipeline
            // scheduled it): its event was dropped, but its blob is in the container. Later landings find the instance.
            foreach (var notice in await context.CallActivityAsync<IReadOnlyList<LandingNotice>>(
                TaskNames.ReconcileLandings, new ReconcileRequest(pipelineId, [.. pending])))
            {
                Accept(settings, jobs.Count, landed, failed, pending, bySlot, dispatches, notice);
            }

            // Bounded: one pass per dispatch, the first and each retry.
            for (; dispatches <= settings.Retries + 1; dispatches++)
            {
                using var cancelTimer = new CancellationTokenSource();
                var deadline = context.CreateTimer(context.CurrentUtcDateTime + settings.Deadline, cancelTimer.Token);
                try
                {
                    while (pending.Count > 0)
                    {
                        report(new StageCounts(landed.Count, failed.Count, pending.Count, dispatches));
                        var next = await Task.WhenAny([.. pending.Select(s => (Task)waits[s]), deadline]);
                        if (next == deadline)
                        {
                            break;
                        }

                        var slot = pending.First(s => waits[s] == next);
                        Accept(settings, jobs.Count, landed, failed, pending, bySlot, dispatches, await waits[slot]);
                    }
                }
                finally
                {
                    // Every durable timer must fire or be cancelled: an open one keeps the instance Running.
                    // Synchronous on purpose: CancelAsync would resume outside the orchestration's replay-safe scheduler.
                    if (!deadline.IsCompleted)
                    {
#pragma warning disable CA1849
                        cancelTimer.Cancel();
#pragma warning restore CA1849
                    }
                }

                if (pending.Count == 0)
                {
                    break;
                }

                // The deadline passed: a landing whose notification was lost is still in the container.
                var found = await context.CallActivityAsync<IReadOnlyList<LandingNotice>>(
                    TaskNames.ReconcileLandings, new ReconcileRequest(pipelineId, [.. pending], AtDeadline: true));
                foreach (var notice in found)
                {
                    Accept(settings, jobs.Count, landed, failed, pending, bySlot, dispatches, notice);
                }

                if (pending.Count == 0 || dispatches == settings.Retries + 1)
                {
                    break;
                }

                Job[] again = [.. pending.Select(s => bySlot[s])];
                await context.CallActivityAsync(TaskNames.DispatchJobs, again);
            }
        }
        finally
        {
#pragma warning disable CA1849
            stop.Cancel(); // the waits of jobs the stage goes on without
#pragma warning restore CA1849
        }

        if (landed.Count < settings.Quorum)
        {
            throw new PipelineFailedException(Shortfall(settings, jobs.Count, landed.Count, failed, pending, bySlot, dispatches));
        }

        var missing = jobs.Where(j => !landed.ContainsKey(j.Slot)).Select(j => failed.TryGetValue(j.Slot, out var f)
            ? (j, $"failed: {f.Reason ?? "no reason recorded"} (see {f.BlobName})", dispatches)
            : (j, $"did not land within {settings.Deadline} after {Dispatches(dispatches)}", dispatches)).ToList();
        return new StageOutcome([.. jobs.Where(j => landed.ContainsKey(j.Slot)).Select(j => (j, landed[j.Slot]))], missing);
    }

    private static void Accept(
        StageSettings settings, int total, Dictionary<string, LandingNotice> landed, Dictionary<string, LandingNotice> failed,
        List<string> pending, Dictionary<string, Job> bySlot, int dispatches, LandingNotice notice)
    {
        if (!pending.Remove(notice.Slot))
        {
            return; // a duplicate, or a slot this stage does not await
        }

        (notice.Kind == Soup.Core.Storage.LandingKind.Failure ? failed : landed)[notice.Slot] = notice;
        if (landed.Count + pending.Count < settings.Quorum)
        {
            throw new PipelineFailedException(Shortfall(settings, total, landed.Count, failed, pending, bySlot, dispatches));
        }
    }

    private static string Shortfall(
        StageSettings settings, int total, int landed, Dictionary<string, LandingNotice> failed, List<string> pending,
        Dictionary<string, Job> bySlot, int dispatches)
    {
        var stage = settings.Round == 0 ? "init" : string.Create(CultureInfo.InvariantCulture, $"round {settings.Round}");
        var parts = new List<string>();
        if (failed.Count > 0)
        {
            // The first job's reason alone when it is the only one: the message a user sees for a failed job.
            parts.Add(string.Join("; ", failed.Values.Select(f => $"job '{bySlot[f.Slot].JobId}' failed: {f.Reason ?? "no reason recorded"} (see {f.BlobName})")));
        }

        if (pending.Count > 0)
        {
            parts.Add($"{pending.Count} job(s) did not land within {settings.Deadline} after {Dispatches(dispatches)}: "
                + string.Join(", ", pending.Select(s => bySlot[s].JobId)));
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"{stage} {settings.Phase}: {landed} of {total} job(s) landed, {settings.Quorum} needed; {string.Join("; ", parts)}");
    }

    private static string Dispatches(int n) => n == 1 ? "1 dispatch" : string.Create(CultureInfo.InvariantCulture, $"{n} dispatches");
}
