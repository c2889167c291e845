using System.Globalization;
using Microsoft.DurableTask;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>How one stage (the init, a round's members, a round's evaluation) waits for its jobs.</summary>
/// <param name="Phase">The phase reported while it waits.</param>
/// <param name="Round">The round (0: the init stage).</param>
/// <param name="Quorum">The fewest landed jobs the stage can go on with.</param>
/// <param name="Retries">How many times a silent job is sent again.</param>
/// <param name="Deadline">The bound on a job's silence, and how often the stage looks at its jobs.</param>
/// <param name="Overall">An overall bound on the stage, however alive its jobs (null: none).</param>
/// <param name="Retry">How activity calls are retried.</param>
internal sealed record StageSettings(string Phase, int Round, int Quorum, int Retries, TimeSpan Deadline, TimeSpan? Overall = null, RetrySpec? Retry = null)
{
    /// <summary>The stage settings of a spec: its silence bound, overall bound and retries.</summary>
    public static StageSettings Of(PipelineSpec spec, string phase, int round, int quorum) =>
        new(phase, round, quorum, spec.Members.EffectiveRetries(), spec.RoundTimeout, spec.StageDeadline, spec.Retry);
}

/// <summary>A stage's outcome: the landed jobs' notices in job order, and the jobs it goes on without (by slot).</summary>
internal sealed record StageOutcome(IReadOnlyList<(string Slot, LandingNotice Notice)> Landed, IReadOnlyList<(string Slot, string Reason, int Dispatches)> Missing);

/// <summary>The counts a stage reports while it waits.</summary>
internal readonly record struct StageCounts(int Landed, int Failed, int Pending, int Dispatch);

/// <summary>
/// Fan-out and fault-tolerant fan-in of one stage, inside an orchestration: dispatches the jobs and waits on one
/// landing event per slot, after one look in the container for jobs that landed before it waited. A duplicate landing
/// counts once; a failure record completes its job as failed at once. Every <see cref="StageSettings.Deadline"/> it
/// looks at the stage's folder: landings whose notification was lost complete their jobs, a job whose heartbeat is
/// fresh is alive and waited for (slow is not lost), and a job silent for the whole bound is sent again (same job id:
/// a copy of a job that is running or done trains nothing), up to the retries, then given up. With an overall bound,
/// the jobs still pending when it passes are given up. It fails as soon as the quorum can no longer be met, naming the
/// failed and missing jobs; otherwise it returns what landed, and tells workers to drop the jobs it gave up on.
/// </summary>
internal static class StageRunner
{
    /// <param name="context">The orchestration.</param>
    /// <param name="dispatch">The stage's jobs by reference: the dispatch activity plans them from the stored spec.</param>
    /// <param name="slots">The slots of the stage's jobs, in job order (<see cref="JobPlanner.Slots"/>).</param>
    /// <param name="settings">How the stage waits.</param>
    /// <param name="report">Called with the counts while it waits.</param>
    public static async Task<StageOutcome> RunAsync(
        TaskOrchestrationContext context, DispatchRequest dispatch, IReadOnlyList<string> slots, StageSettings settings, Action<StageCounts> report)
    {
        var retry = ActivityRetry.Options(settings.Retry);
        var pipelineId = dispatch.PipelineId;

        // Each job carries the stage's silence bound, so workers judge "alive" as the stage does.
        dispatch = dispatch with { HeartbeatTimeout = settings.Deadline, Slots = null };

        var state = new StageState(settings, pipelineId, slots);
        var eventName = LandingEvents.Name(slots[0]); // one name for the stage's folder: one wait at a time
        using var stop = new CancellationTokenSource();

        // The wait is open before anything is dispatched: waits are a stack (the newest gets the next event), and one
        // left by an earlier stage of this instance (cancelled) would otherwise swallow a landing that came early.
        Task<LandingNotice>? wait = context.WaitForExternalEvent<LandingNotice>(eventName, stop.Token);
        try
        {
            // The jobs travel by reference: the activity plans them from the stored spec (history keeps the request).
            await context.CallActivityAsync(TaskNames.DispatchJobs, dispatch, retry);
            var started = context.CurrentUtcDateTime;

            // A job may have landed before the instance that awaits it existed (a round is created after its pipeline
            // scheduled it): its event was dropped, but its blob is in the container. Later landings find the instance.
            foreach (var notice in await context.CallActivityAsync<IReadOnlyList<LandingNotice>>(
                TaskNames.ReconcileLandings, new ReconcileRequest(pipelineId, state.Pending, SpecHash: dispatch.SpecHash), retry))
            {
                state.Accept(notice);
            }

            // Bounded: each pass either ends the stage, or sends a silent job again (at most Retries times per job), or
            // finds a job alive (its heartbeat advanced), or reaches the overall bound.
            while (state.Count > 0)
            {
                using var cancelTimer = new CancellationTokenSource();
                var deadline = context.CreateTimer(context.CurrentUtcDateTime + settings.Deadline, cancelTimer.Token);
                try
                {
                    while (state.Count > 0)
                    {
                        report(state.Counts);

                        // The wait outlives a deadline: a new one is made only once the last one got its event, so no
                        // event can go to a wait that nobody reads any more.
                        wait ??= context.WaitForExternalEvent<LandingNotice>(eventName, stop.Token);
                        if (await Task.WhenAny(wait, deadline) == deadline)
                        {
                            break;
                        }

                        var notice = await wait;
                        wait = null;
                        foreach (var one in notice.All())
                            state.Accept(one);
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

                if (state.Count == 0)
                {
                    break;
                }

                // The silence bound passed: a landing whose notification was lost is still in the container, and a job
                // that is alive says so in its heartbeat.
                var found = await context.CallActivityAsync<IReadOnlyList<LandingNotice>>(
                    TaskNames.ReconcileLandings, new ReconcileRequest(pipelineId, state.Pending, AtDeadline: true, HeartbeatWindow: settings.Deadline, SpecHash: dispatch.SpecHash), retry);
                var alive = new HashSet<string>(StringComparer.Ordinal);
                foreach (var notice in found)
                {
                    if (notice.Kind == LandingKind.Alive)
                        alive.Add(notice.Slot);
                    else
                        state.Accept(notice);
                }

                if (settings.Overall is { } overall && context.CurrentUtcDateTime - started >= overall)
                {
                    state.GiveUp(state.Pending, string.Create(CultureInfo.InvariantCulture, $"still running when the stage's overall bound ({overall}) passed"));
                    break;
                }

                var silent = state.Pending.Where(s => !alive.Contains(s)).ToList();
                state.GiveUp(
                    [.. silent.Where(s => state.Sent[s] > settings.Retries)],
                    string.Create(CultureInfo.InvariantCulture, $"did not land: silent (no landing, no heartbeat) for {settings.Deadline} after {{0}}"));
                List<string> again = [.. silent.Where(state.IsPending)];
                if (again.Count > 0)
                {
                    state.Resent(again);
                    await context.CallActivityAsync(TaskNames.DispatchJobs, dispatch with { Slots = again }, retry);
                }
            }
        }
        finally
        {
#pragma warning disable CA1849
            stop.Cancel(); // the open wait, when the stage goes on without some jobs
#pragma warning restore CA1849
        }

        var outcome = state.Outcome();
        var abandoned = state.GivenUp.Keys.ToList();
        if (abandoned.Count > 0)
        {
            // Nobody awaits them any more: a copy still queued or training somewhere is dropped by its worker.
            await context.CallActivityAsync(
                TaskNames.StopJobs, new StopJobsRequest(pipelineId, abandoned, $"{state.StageName} {settings.Phase} went on without it"), retry);
        }

        return outcome;
    }

    /// <summary>What a stage knows of its jobs: landed, failed, given up, still pending, and how often each was sent.</summary>
    private sealed class StageState(StageSettings settings, string pipelineId, IReadOnlyList<string> jobs)
    {
        private readonly HashSet<string> _pending = [.. jobs];
        private int _mostSent = 1;

        public Dictionary<string, LandingNotice> Landed { get; } = [];

        public Dictionary<string, LandingNotice> Failed { get; } = [];

        public Dictionary<string, string> GivenUp { get; } = [];

        /// <summary>The slots still awaited, in job order (deterministic on replay, unlike the set).</summary>
        public IReadOnlyList<string> Pending => [.. jobs.Where(_pending.Contains)];

        /// <summary>How many slots are still awaited.</summary>
        public int Count => _pending.Count;

        /// <summary>How many times each job was dispatched.</summary>
        public Dictionary<string, int> Sent { get; } = jobs.ToDictionary(j => j, _ => 1);

        public string StageName => settings.Round == 0 ? "init" : string.Create(CultureInfo.InvariantCulture, $"round {settings.Round}");

        /// <summary>The counts reported while waiting; the dispatch shown is the most any pending job has had.</summary>
        public StageCounts Counts => new(Landed.Count, Failed.Count, _pending.Count, _mostSent);

        public bool IsPending(string slot) => _pending.Contains(slot);

        /// <summary>Records that the jobs in <paramref name="slots"/> were sent again.</summary>
        public void Resent(IEnumerable<string> slots)
        {
            foreach (var slot in slots)
                _mostSent = Math.Max(_mostSent, ++Sent[slot]);
        }

        public void Accept(LandingNotice notice)
        {
            if (notice.Kind == LandingKind.Alive || !_pending.Remove(notice.Slot))
            {
                return; // a heartbeat, a duplicate, or a slot this stage does not await
            }

            (notice.Kind == LandingKind.Failure ? Failed : Landed)[notice.Slot] = notice;
            CheckQuorum();
        }

        /// <summary>Stops waiting for <paramref name="slots"/>; <paramref name="reason"/> may hold {0} for the dispatches.</summary>
        public void GiveUp(IReadOnlyList<string> slots, string reason)
        {
            foreach (var slot in slots)
            {
                _pending.Remove(slot);
                GivenUp[slot] = string.Format(CultureInfo.InvariantCulture, reason, Dispatches(Sent[slot]));
            }

            CheckQuorum();
        }

        public StageOutcome Outcome() => new(
            [.. jobs.Where(Landed.ContainsKey).Select(j => (j, Landed[j]))],
            [.. jobs.Where(j => !Landed.ContainsKey(j)).Select(j => (j, Failed.TryGetValue(j, out var f)
                ? $"failed: {f.Reason ?? "no reason recorded"} (see {f.BlobName})"
                : GivenUp.GetValueOrDefault(j, "did not land"), Sent[j]))]);

        private string JobId(string slot) => $"{pipelineId}/{slot}";

        private void CheckQuorum()
        {
            if (Landed.Count + _pending.Count >= settings.Quorum)
            {
                return;
            }

            var parts = new List<string>();
            if (Failed.Count > 0)
            {
                parts.Add(string.Join("; ", Failed.Values.Select(f => $"job '{JobId(f.Slot)}' failed: {f.Reason ?? "no reason recorded"} (see {f.BlobName})")));
            }

            foreach (var group in GivenUp.GroupBy(g => g.Value, g => g.Key))
            {
                parts.Add($"{group.Count()} job(s) {group.Key}: {string.Join(", ", group.Select(JobId))}");
            }

            throw new PipelineFailedException(string.Create(
                CultureInfo.InvariantCulture,
                $"{StageName} {settings.Phase}: {Landed.Count} of {jobs.Count} job(s) landed, {settings.Quorum} needed; {string.Join("; ", parts)}"));
        }

        private static string Dispatches(int n) => n == 1 ? "1 dispatch" : string.Create(CultureInfo.InvariantCulture, $"{n} dispatches");
    }
}
