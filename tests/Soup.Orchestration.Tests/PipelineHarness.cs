using System.Threading.Channels;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Soup.Core.Jobs;
using Soup.Merging;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>
/// The real <see cref="PipelineOrchestrator"/> on the in-memory Durable engine, with doubles for its activities
/// and a fake worker that answers each dispatched job by raising landing events through the test host's client.
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly Lock _gate = new();
    private readonly List<Job[]> _dispatches = [];
    private readonly List<MergeRequest> _merges = [];
    private readonly List<ReconcileRequest> _reconciles = [];
    private readonly List<PipelineStatusView> _reports = [];
    private readonly List<StopJobsRequest> _stops = [];
    private readonly Dictionary<string, int> _failures = [];
    private readonly Dictionary<string, int> _calls = [];
    private readonly Dictionary<string, EvaluateJob> _evaluations = [];
    private readonly Dictionary<string, double> _accuracies = [];
    private readonly Dictionary<string, long> _payloadBytes = [];
    private readonly Dictionary<string, long> _payloadBytesByActivity = [];
    private readonly Dictionary<string, RoundResult> _roundResults = []; // in full, by blob name, as SummarizeRound stores them
    private readonly Channel<Job> _jobs = Channel.CreateUnbounded<Job>();
    private readonly Func<Job, IReadOnlyList<LandingNotice>> _worker;
    private readonly Func<ReconcileRequest, IReadOnlyList<LandingNotice>> _reconcile;
    private DurableTaskTestHost? _host;
    private Task? _pump;
    private Exception? _pumpError;

    private PipelineHarness(Func<Job, IReadOnlyList<LandingNotice>> worker, Func<ReconcileRequest, IReadOnlyList<LandingNotice>> reconcile)
    {
        _worker = worker;
        _reconcile = reconcile;
    }

    public DurableTaskClient Client => _host?.Client ?? throw new InvalidOperationException("not started");

    /// <summary>The pipelines' stored specs (by hash), as the real store keeps them in blobs.</summary>
    public InMemorySpecStore Specs { get; } = new();

    /// <summary>Every DispatchJobs call's batch, in order.</summary>
    public IReadOnlyList<Job[]> Dispatches { get { lock (_gate) { return [.. _dispatches]; } } }

    /// <summary>Every MergeCheckpoints call's request, in order.</summary>
    public IReadOnlyList<MergeRequest> Merges { get { lock (_gate) { return [.. _merges]; } } }

    /// <summary>The ReconcileLandings calls made at a deadline (not the look right after a stage's first dispatch), in order.</summary>
    public IReadOnlyList<ReconcileRequest> DeadlineReconciles => [.. Reconciles.Where(r => r.AtDeadline)];

    /// <summary>Every WriteReport call's status view, in order.</summary>
    public IReadOnlyList<PipelineStatusView> Reports { get { lock (_gate) { return [.. _reports]; } } }

    /// <summary>Every StopJobs call's request, in order.</summary>
    public IReadOnlyList<StopJobsRequest> Stops { get { lock (_gate) { return [.. _stops]; } } }

    /// <summary>Makes the next <paramref name="times"/> calls of <paramref name="activity"/> fail (a transient fault).</summary>
    public void FailNext(string activity, int times)
    {
        lock (_gate)
        {
            _failures[activity] = times;
        }
    }

    /// <summary>How many times <paramref name="activity"/> was called (failed calls included).</summary>
    public int Calls(string activity)
    {
        lock (_gate)
        {
            return _calls.GetValueOrDefault(activity);
        }
    }

    /// <summary>Every ReconcileLandings call's request, in order.</summary>
    public IReadOnlyList<ReconcileRequest> Reconciles { get { lock (_gate) { return [.. _reconciles]; } } }

    /// <summary>
    /// Starts the engine. <paramref name="worker"/> says which notices the fake worker raises for a dispatched job
    /// (none holds the job; two raise a duplicate); by default every job lands once. <paramref name="reconcile"/>
    /// answers the reconcile activity; by default it finds nothing.
    /// </summary>
    public static async Task<PipelineHarness> StartAsync(
        Func<Job, IReadOnlyList<LandingNotice>>? worker = null, Func<ReconcileRequest, IReadOnlyList<LandingNotice>>? reconcile = null)
    {
        var harness = new PipelineHarness(worker ?? (job => [Landed(job)]), reconcile ?? (_ => []));
        harness._host = await DurableTaskTestHost.StartAsync(
            registry => registry
                .AddOrchestrator(TaskNames.Pipeline, typeof(PipelineOrchestrator))
                .AddOrchestrator(TaskNames.Round, typeof(RoundOrchestrator))
                .AddOrchestrator(TaskNames.ScheduledPipeline, typeof(ScheduledPipelineOrchestrator))
                .AddActivityFunc<DispatchRequest, int>(TaskNames.DispatchJobs, harness.Measured<DispatchRequest, int>(harness.DispatchAsync))
                .AddActivityFunc<MergeRequest, MergeOutcome>(TaskNames.MergeCheckpoints, harness.Measured<MergeRequest, MergeOutcome>(harness.Merge))
                .AddActivityFunc<SummarizeRequest, RoundResult>(TaskNames.SummarizeRound, harness.Measured<SummarizeRequest, RoundResult>(harness.SummarizeAsync))
                .AddActivityFunc<ReconcileRequest, IReadOnlyList<LandingNotice>>(TaskNames.ReconcileLandings, harness.Measured<ReconcileRequest, IReadOnlyList<LandingNotice>>(harness.Reconcile))
                .AddActivityFunc<PipelineStatusView, string>(TaskNames.WriteReport, harness.Measured<PipelineStatusView, string>(harness.WriteReport))
                .AddActivityFunc<StopJobsRequest, int>(TaskNames.StopJobs, harness.Measured<StopJobsRequest, int>(harness.StopJobs)),
            new DurableTaskTestHostOptions { LoggerFactory = NullLoggerFactory.Instance, Port = FreePorts.Next() });
        harness._pump = Task.Run(harness.PumpAsync);
        return harness;
    }

    /// <summary>The notice a worker's successful output raises: a checkpoint for training, a report for evaluation.</summary>
    public static LandingNotice Landed(Job job) =>
        new(job.Slot, job is EvaluateJob ? LandingKind.Evaluation : LandingKind.Checkpoint, CheckpointLayout.OutputBlob(job), null);

    /// <summary>The notice a failure record raises.</summary>
    public static LandingNotice Failed(Job job, string reason) =>
        new(job.Slot, LandingKind.Failure, CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.FailureFile), reason);

    /// <summary>The accuracy the fake evaluation reported for <paramref name="checkpoint"/> (distinct per checkpoint).</summary>
    public double AccuracyOf(string checkpoint)
    {
        lock (_gate)
        {
            return _accuracies[checkpoint];
        }
    }

    /// <summary>Makes the fake evaluation report <paramref name="accuracy"/> for <paramref name="checkpoint"/> (on the primary split).</summary>
    public void Preset(string checkpoint, double accuracy)
    {
        lock (_gate)
        {
            _accuracies[checkpoint] = accuracy;
        }
    }

    /// <summary>
    /// Makes the fake evaluation score the greedy soup candidate made of <paramref name="ingredients"/> (in the order
    /// added) <paramref name="accuracy"/> on the primary split; unset, a candidate scores its ingredients' mean.
    /// </summary>
    public void PresetGreedy(IReadOnlyList<string> ingredients, double accuracy) => Preset(GreedyKey(ingredients), accuracy);

    private static string GreedyKey(IEnumerable<string> ingredients) => "greedy:" + string.Join("+", ingredients);

    /// <summary>The loss the fake evaluation reported for <paramref name="checkpoint"/>.</summary>
    public double LossOf(string checkpoint) => 1 - AccuracyOf(checkpoint);

    /// <summary>Schedules the pipeline through the product's starter, under a unique id.</summary>
    public Task<string> StartPipelineAsync(PipelineSpec spec) =>
        PipelineStarter.StartAsync(Client, Specs, spec, () => $"{spec.Name}-{Guid.NewGuid():N}");

    /// <summary>Raises a landing event as the blob trigger would: on the instance that awaits the slot.</summary>
    public Task RaiseAsync(string pipelineId, LandingNotice notice) =>
        Client.RaiseEventAsync(LandingEvents.InstanceFor(pipelineId, notice.Slot), LandingEvents.Name(notice.Slot), notice);

    /// <summary>Waits for the pipeline to end and returns its metadata with output and custom status.</summary>
    public async Task<OrchestrationMetadata> WaitForEndAsync(string pipelineId)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            var metadata = await Client.WaitForInstanceCompletionAsync(pipelineId, getInputsAndOutputs: true, timeout.Token);
            Assert.Null(_pumpError);
            return metadata;
        }
        catch (OperationCanceledException)
        {
            var stuck = await Client.GetInstanceAsync(pipelineId, getInputsAndOutputs: true);
            Assert.Fail($"pipeline '{pipelineId}' did not end within {Patience}: {stuck?.RuntimeStatus}, progress {stuck?.SerializedCustomStatus}");
            throw;
        }
    }

    /// <summary>Polls the pipeline's custom status until <paramref name="condition"/> holds.</summary>
    public async Task<PipelineProgress> WaitForProgressAsync(string pipelineId, Func<PipelineProgress, bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var view = await PipelineStatusReader.ReadSummaryAsync(Client, pipelineId, timeout.Token);
            if (view?.Progress is { } progress && condition(progress))
            {
                return progress;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    /// <summary>Polls an instance (with inputs, outputs and custom status) until <paramref name="condition"/> holds.</summary>
    public async Task<OrchestrationMetadata> WaitForInstanceAsync(string instanceId, Func<OrchestrationMetadata, bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var metadata = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
            if (metadata is not null && condition(metadata))
            {
                return metadata;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    /// <summary>Polls until an instance is in one of <paramref name="statuses"/>.</summary>
    public Task<OrchestrationMetadata> WaitForInstanceAsync(string instanceId, params OrchestrationRuntimeStatus[] statuses) =>
        WaitForInstanceAsync(instanceId, m => statuses.Contains(m.RuntimeStatus));

    /// <summary>Polls until a scheduled run has recorded which pipeline it runs.</summary>
    public async Task<ScheduledRunRecord> WaitForRecordAsync(string instanceId) =>
        (await WaitForInstanceAsync(instanceId, m => m.ReadCustomStatusAs<ScheduledRunRecord>() is not null)).ReadCustomStatusAs<ScheduledRunRecord>()!;

    /// <summary>Polls until at least <paramref name="count"/> DispatchJobs calls happened; returns them all.</summary>
    public async Task<IReadOnlyList<Job[]>> WaitForDispatchesAsync(int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (Dispatches.Count < count)
        {
            await Task.Delay(50, timeout.Token);
        }

        return Dispatches;
    }

    /// <summary>The pipeline's current runtime status.</summary>
    public async Task<OrchestrationRuntimeStatus> StatusAsync(string pipelineId) =>
        (await Client.GetInstanceAsync(pipelineId))?.RuntimeStatus ?? throw new InvalidOperationException($"no instance '{pipelineId}'");

    public async ValueTask DisposeAsync()
    {
        _jobs.Writer.TryComplete();
        if (_pump is not null)
        {
            await _pump;
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    /// <summary>
    /// When set, the fake worker's notices for a batch are raised before DispatchJobs returns, so they reach the
    /// instance before it starts waiting for them.
    /// </summary>
    public bool LandBeforeDispatchReturns { get; set; }

    /// <summary>Fixes the accuracy the fake evaluation reports for <paramref name="checkpoint"/>.</summary>
    public void Score(string checkpoint, double accuracy)
    {
        lock (_gate)
        {
            _accuracies[checkpoint] = accuracy;
        }
    }

    /// <summary>Schedules the pipeline through the product's starter under <paramref name="pipelineId"/>.</summary>
    public Task<string> StartPipelineAsync(PipelineSpec spec, string pipelineId) => PipelineStarter.StartAsync(Client, Specs, spec, () => pipelineId);

    /// <summary>
    /// The bytes of every activity input and output scheduled by <paramref name="instanceId"/>, serialized as JSON: what
    /// its history's TaskScheduled and TaskCompleted events carry.
    /// </summary>
    public long ActivityPayloadBytes(string instanceId)
    {
        lock (_gate)
        {
            return _payloadBytes.GetValueOrDefault(instanceId);
        }
    }

    /// <summary><paramref name="round"/> in full, as the SummarizeRound activity stored it (itself when it is full).</summary>
    public RoundResult Full(RoundResult round)
    {
        ArgumentNullException.ThrowIfNull(round);
        lock (_gate)
        {
            return round.Details is { } blob ? _roundResults[blob] : round;
        }
    }

    /// <summary>The output of a pipeline that ended, with its rounds in full; null when it has none.</summary>
    public PipelineResult? Result(OrchestrationMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.ReadOutputAs<PipelineResult>() is { } result ? result with { Rounds = [.. result.Rounds.Select(Full)] } : null;
    }

    /// <summary>Payload bytes (input and output) of every call of each activity, across instances.</summary>
    public IReadOnlyDictionary<string, long> ActivityPayloadBytesByName()
    {
        lock (_gate)
        {
            return new Dictionary<string, long>(_payloadBytesByActivity);
        }
    }

    private Func<TaskActivityContext, TIn, Task<TOut>> Measured<TIn, TOut>(Func<TaskActivityContext, TIn, TOut> activity) =>
        Measured<TIn, TOut>((c, input) => Task.FromResult(activity(c, input)));

    private Func<TaskActivityContext, TIn, Task<TOut>> Measured<TIn, TOut>(Func<TaskActivityContext, TIn, Task<TOut>> activity) => async (c, input) =>
    {
        var result = await activity(c, input);
        var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(input).Length + System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(result).Length;
        lock (_gate)
        {
            _payloadBytes[c.InstanceId] = _payloadBytes.GetValueOrDefault(c.InstanceId) + bytes;
            _payloadBytesByActivity[c.Name.Name] = _payloadBytesByActivity.GetValueOrDefault(c.Name.Name) + bytes;
        }

        return result;
    };

    /// <summary>Counts a call of <paramref name="activity"/>, and throws when a transient fault is due.</summary>
    private void Enter(string activity)
    {
        lock (_gate)
        {
            _calls[activity] = _calls.GetValueOrDefault(activity) + 1;
            if (_failures.GetValueOrDefault(activity) > 0)
            {
                _failures[activity]--;
                throw new IOException($"transient fault injected into {activity}");
            }
        }
    }

    private int StopJobs(TaskActivityContext context, StopJobsRequest request)
    {
        Enter(TaskNames.StopJobs);
        lock (_gate)
        {
            _stops.Add(request);
        }

        return request.Slots?.Count ?? 1;
    }

    /// <summary>The dispatch activity: plans the jobs from the stored spec as the real one does, then the fake worker takes them.</summary>
    private async Task<int> DispatchAsync(TaskActivityContext context, DispatchRequest request)
    {
        Enter(TaskNames.DispatchJobs);
        var jobs = JobPlanner.Plan(await Specs.GetAsync(request.SpecHash), request);
        lock (_gate)
        {
            _dispatches.Add([.. jobs]);
            foreach (var evaluation in jobs.OfType<EvaluateJob>())
            {
                _evaluations[CheckpointLayout.Blob(evaluation.PipelineId, evaluation.Slot, CheckpointLayout.EvaluationFile)] = evaluation;
            }
        }

        foreach (var job in jobs)
        {
            if (LandBeforeDispatchReturns)
            {
                foreach (var notice in _worker(job))
                {
                    await RaiseAsync(job.PipelineId, notice);
                }
            }
            else
            {
                _jobs.Writer.TryWrite(job);
            }
        }

        return jobs.Count;
    }

    private MergeOutcome Merge(TaskActivityContext context, MergeRequest request)
    {
        Enter(TaskNames.MergeCheckpoints);
        lock (_gate)
        {
            _merges.Add(request);
        }

        return new MergeOutcome(request.Output, 10, 1_000, 4_000);
    }

    /// <summary>The round-summary activity: the real summary, from the stored spec and the fake reports.</summary>
    private async Task<RoundResult> SummarizeAsync(TaskActivityContext context, SummarizeRequest request)
    {
        Enter(TaskNames.SummarizeRound);
        var spec = await Specs.GetAsync(request.SpecHash);
        var full = RoundSummarizer.Summarize(spec, request, [.. request.Evaluations.Select(Report)]);
        var blob = RoundResults.BlobName(request.Round.PipelineId, full.Round);
        lock (_gate)
        {
            _roundResults[blob] = full;
        }

        return RoundResults.Summary(full, blob);
    }

    /// <summary>A report with a distinct score per checkpoint of the evaluation job, listed in reverse order.</summary>
    private EvaluationReport Report(string reportBlob)
    {
        lock (_gate)
        {
            var job = _evaluations.TryGetValue(reportBlob, out var found)
                ? found
                : throw new InvalidOperationException($"no evaluation job wrote '{reportBlob}'");
            var scores = new List<CheckpointScore>();
            foreach (var checkpoint in job.Checkpoints)
            {
                if (!_accuracies.TryGetValue(checkpoint, out var accuracy))
                {
                    accuracy = 0.5 + (0.01 * _accuracies.Count);
                    _accuracies[checkpoint] = accuracy;
                }

                // Every split scores; the others a fixed step below the primary one, so they are told apart.
                scores.AddRange(job.Splits.Select((s, i) => new CheckpointScore(checkpoint, s.Name, accuracy - (0.1 * i), 1 - accuracy)));
            }

            var greedy = job.Greedy is { } plan ? FakeGreedy(job, plan, scores) : null;
            scores.Reverse();
            var split = job.Splits[0].Name;
            return new EvaluationReport
            {
                Splits = [.. job.Splits.Select(s => new SplitSize(s.Name, 1_000))],
                Scores = scores,
                Ensemble = [new SplitScore("another split", 3, 0.1, 9), new SplitScore(split, job.Ensemble?.Count ?? 0, 0.97, 0.12)],
                Diversity = [new DiversityScore(split, 3, 0.2, 1.5)],
                Connectivity = [new ConnectivityScore(split, 0, 1, 0.93, 0.2, 0.9, -0.03)],
                Greedy = greedy,
            };
        }
    }

    /// <summary>
    /// What a worker's greedy soup does, on the fake scores (every split a fixed step from the primary one, so the
    /// choice on the plan's split is the choice on the presets): members ranked, each candidate kept if it does not drop.
    /// The soup it keeps is scored on every split. Called under the lock.
    /// </summary>
    private GreedySoupOutcome FakeGreedy(EvaluateJob job, GreedySoupPlan plan, List<CheckpointScore> scores)
    {
        var step = 0.1 * job.Splits.Select(s => s.Name).ToList().IndexOf(plan.Split);
        double Decisive(string key) => _accuracies[key] - step;
        var ranked = GreedySoup.Ranked([.. plan.Members.Select(i => job.Checkpoints[i])], Decisive);
        List<string> kept = [ranked[0]];
        var trials = new List<GreedyTrial>();
        foreach (var next in ranked.Skip(1))
        {
            List<string> candidate = [.. kept, next];
            var key = GreedyKey(candidate);
            if (!_accuracies.ContainsKey(key))
                _accuracies[key] = candidate.Average(c => _accuracies[c]);
            var keep = Decisive(key) >= Decisive(kept.Count == 1 ? kept[0] : GreedyKey(kept));
            trials.Add(new GreedyTrial(next, Decisive(key), keep));
            if (keep)
                kept = candidate;
        }

        var soup = kept[0];
        if (kept.Count > 1)
        {
            soup = CheckpointLayout.GreedySoupBlob(job.PipelineId, job.Slot);
            var accuracy = _accuracies[soup] = _accuracies[GreedyKey(kept)];
            scores.AddRange(job.Splits.Select((s, i) => new CheckpointScore(soup, s.Name, accuracy - (0.1 * i), 1 - accuracy)));
        }

        return new GreedySoupOutcome(soup, kept, trials);
    }

    private string WriteReport(TaskActivityContext context, PipelineStatusView view)
    {
        Enter(TaskNames.WriteReport);
        lock (_gate)
        {
            _reports.Add(view);
        }

        return PipelineReports.BlobName(view.Id);
    }

    private IReadOnlyList<LandingNotice> Reconcile(TaskActivityContext context, ReconcileRequest request)
    {
        Enter(TaskNames.ReconcileLandings);
        lock (_gate)
        {
            _reconciles.Add(request);
        }

        return _reconcile(request);
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var job in _jobs.Reader.ReadAllAsync())
            {
                foreach (var notice in _worker(job))
                {
                    await RaiseAsync(job.PipelineId, notice);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _pumpError = ex;
        }
    }
}
