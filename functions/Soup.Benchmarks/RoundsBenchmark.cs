using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Local;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Merging;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Orchestration.Activities;

using Soup.Merging.Engine;

namespace Soup.Benchmarks;

/// <summary>
/// <c>pipeline bench rounds</c>: the orchestration's own overhead. The real local engine (Durable Task on the Azure
/// Storage provider, Azurite, the container watcher, the real merge and evaluation read-back) runs pipelines whose jobs
/// are answered at once by a no-op worker (a 16-value checkpoint per member, a synthetic report per evaluation), so what
/// is timed is dispatch, fan-in on landings, merge, evaluation round trip and bookkeeping per round.
/// </summary>
public static class RoundsBenchmark
{
    private const string InitBlob = "bases/bench-init.safetensors";

    /// <summary>Runs one pipeline per member count and prints seconds per round.</summary>
    public static async Task<int> ExecuteAsync(
        IReadOnlyList<int> memberCounts, int rounds, TextWriter output, CancellationToken cancellationToken, IReadOnlyList<int>? finishedCounts = null)
    {
        List<int> finished = finishedCounts is { Count: > 0 } f ? [.. f.Order()] : [0];
        ArgumentNullException.ThrowIfNull(memberCounts);
        var suffix = RandomNumberGenerator.GetHexString(8, lowercase: true);
        var configuration = LocalConfiguration.Build(null, 0, new Dictionary<string, string?>
        {
            ["TaskHubName"] = "bench" + suffix.Replace('0', 'a'),
            ["CheckpointsContainer"] = "bench-" + suffix,
            ["JobsQueue"] = "bench-jobs-" + suffix,
            ["LandingPollInterval"] = "00:00:00.250",
        });
        if (await StorageProbe.ProblemAsync(configuration, cancellationToken) is { } problem)
        {
            output.WriteLine(problem);
            return 3;
        }

        try
        {
            return await RunAsync(configuration, memberCounts, finished, rounds, output, cancellationToken);
        }
        finally
        {
            // The task hub, container and queues are the benchmark's own: leave nothing behind in Azurite (it slows down as blobs grow).
            await LocalEngine.DeleteStorageAsync(configuration, CancellationToken.None);
        }
    }

    private static async Task<int> RunAsync(
        IConfiguration configuration, IReadOnlyList<int> memberCounts, List<int> finished, int rounds, TextWriter output, CancellationToken cancellationToken)
    {
        await using var engine = await LocalEngine.StartAsync(configuration, cancellationToken: cancellationToken);
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        await UploadAsync(storage, InitBlob, new TrainJob
        {
            PipelineId = "bases", Slot = "init", Model = "cnn-small", Data = new DataRef { Dataset = "none" }, Settings = new TrainSettings(),
        }, cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Four receivers of 32 messages, 8 answered at a time each: many workers, as a real round of this size has.
        var answered = new ConcurrentDictionary<string, int>(StringComparer.Ordinal); // answered jobs per pipeline id
        var worker = Task.WhenAll(Enumerable.Range(0, NoOpReceivers).Select(_ => Task.Run(() => AnswerJobsAsync(storage, answered, stop.Token), CancellationToken.None)));

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Orchestration overhead on the local engine (Azure Storage provider on Azurite), no-op jobs, {rounds} round(s) per pipeline, {Environment.ProcessorCount} cores"));
        output.WriteLine();
        output.WriteLine("| finished pipelines in the container | members | per round, median (s) | per member (ms) | slowest round (s) | whole pipeline (s) | target per round | storage floor per member (ms) | round ÷ floor | cores busy / stolen by the host |");
        output.WriteLine("|---:|---:|---:|---:|---:|---:|---|---:|---:|---|");
        _ = await RunAsync(engine.Client, engine.Specs, 2, 1, cancellationToken); // Warm-up, untimed: JIT, queue and table creation.
        var present = 0;
        var phaseLines = new List<string>();
        foreach (var count in finished)
        {
            for (; present < count; present++)
                await FabricateFinishedAsync(storage, present, FinishedMembers, cancellationToken);
            foreach (var members in memberCounts)
            {
                var floor = await StorageFloorAsync(storage, engine.Specs, members, answered, cancellationToken);
                var cpuBefore = HostCpu.Read();
                var (perRound, total, breakdown) = await RunAsync(engine.Client, engine.Specs, members, rounds, cancellationToken);
                var cpu = HostCpu.Read() is { } after && cpuBefore is { } before ? after - before : (HostCpu?)null;
                phaseLines.Add(string.Create(CultureInfo.InvariantCulture, $"- {present} finished, {members} members, last round: {breakdown}"));
                var median = BenchStatistics.Median(perRound);
                var target = members <= 8 ? "≤ 2 s" : members <= 64 ? "≤ 10 s" : string.Create(CultureInfo.InvariantCulture, $"≤ {members * 0.010:F1} s (10 ms/member)");
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {present} | {members} | {median:F2} | {median * 1000 / members:F1} | {perRound.Max():F2} | {total:F2} | {target} | {floor * 1000 / members:F1} | {median / floor:F2} | {(cpu is { } c ? $"{c.BusyShare:P0} / {c.StealShare:P0}" : "n/a")} |"));
            }
        }

        output.WriteLine();
        output.WriteLine("The storage floor is the requests a round of that many members cannot do without, timed with no orchestration just before the pipeline, on the same emulator and no-op worker: the round's jobs sent as the dispatch sends them, answered, and each output read once as the merge reads it. The round's time above it is what the pipeline adds; the ratio holds up better than the seconds when the machine's speed drifts between runs.");
        output.WriteLine("\"Stolen\" is the share of the cores' time the hypervisor gave to other machines during the run (/proc/stat): figures from a run with much stolen time are slow for reasons outside the product.");
        output.WriteLine("Where a round's time goes (phases as the round reports them, seen every 0.25 s; \"training\" is dispatch and fan-in):");
        foreach (var line in phaseLines)
            output.WriteLine(line);

        await stop.CancelAsync();
        try
        {
            await worker;
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    /// <summary>The benchmark's spec: <paramref name="members"/> one-step members from the init, a linear soup.</summary>
    private static PipelineSpec Spec(int members, int rounds) => new()
    {
        Name = "bench",
        Rounds = rounds,
        Init = new InitSpec { Checkpoint = InitBlob },
        Members = new MembersSpec { Count = members, Steps = 1, LearningRates = [0.01] },
        Merge = new MergeParameters { Method = "linear" },
    };

    /// <summary>
    /// Seconds for the storage requests a round of <paramref name="members"/> cannot do without, and nothing else: the
    /// first round's jobs as the dispatch plans and sends them, the no-op worker's answers, then one read of each output
    /// with the merge's concurrency.
    /// </summary>
    private static async Task<double> StorageFloorAsync(
        SoupStorage storage, ISpecStore specs, int members, ConcurrentDictionary<string, int> answered, CancellationToken cancellationToken)
    {
        var spec = Spec(members, 1);
        var id = "floor-" + RandomNumberGenerator.GetHexString(12, lowercase: true);
        var hash = await specs.PutAsync(spec, cancellationToken);
        var jobs = JobPlanner.Plan(spec, new DispatchRequest(hash, id, JobStages.Members, 1, InitBlob));
        var clock = Stopwatch.StartNew();
        await DispatchJobsActivity.SendAsync(storage, jobs, []);
        while (answered.GetValueOrDefault(id) < jobs.Count)
            await Task.Delay(FloorPoll, cancellationToken);
        await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = CheckpointMerger.ConcurrentOpens, CancellationToken = cancellationToken }, async (job, ct) =>
            await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).DownloadContentAsync(ct));
        var seconds = clock.Elapsed.TotalSeconds;

        // Untimed: the outputs go, so the container the pipeline then runs in holds only what the run asked for.
        await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = CheckpointMerger.ConcurrentOpens, CancellationToken = cancellationToken }, async (job, ct) =>
            await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).DeleteIfExistsAsync(cancellationToken: ct));
        return seconds;
    }

    private static async Task<(List<double> PerRound, double Total, string Phases)> RunAsync(DurableTaskClient client, ISpecStore specs, int members, int rounds, CancellationToken cancellationToken)
    {
        var spec = Spec(members, rounds);
        var clock = Stopwatch.StartNew();
        var id = await PipelineStarter.StartAsync(client, specs, spec, cancellationToken: cancellationToken);
        var phases = new List<(string Phase, double At)>(); // the last round's phases, for the breakdown
        var round = 0;
        while (true)
        {
            var view = await PipelineStatusReader.ReadSummaryAsync(client, id, cancellationToken)
                ?? throw new InvalidOperationException($"pipeline {id} vanished");
            if (view.IsTerminal)
            {
                if (view.RuntimeStatus != nameof(OrchestrationRuntimeStatus.Completed))
                    throw new InvalidOperationException($"benchmark pipeline {id} ended {view.RuntimeStatus}: {view.Failure}");
                break;
            }

            if (view.Progress is { Round: > 0 } p && p.Round > round)
            {
                round = p.Round;
                phases.Clear();
            }

            if (view.Progress is { } q && (phases.Count == 0 || phases[^1].Phase != q.Phase))
                phases.Add((q.Phase, clock.Elapsed.TotalSeconds));

            // A few looks a second: the status read is two table queries, and at 20 a second the benchmark's own
            // polling took a tenth of the emulator's time. Round times come from the instances' own clocks below.
            await Task.Delay(PollInterval, cancellationToken);
        }

        var end = clock.Elapsed.TotalSeconds;
        var breakdown = string.Join(", ", phases.Select((x, i) => string.Create(
            CultureInfo.InvariantCulture, $"{x.Phase} {(i + 1 < phases.Count ? phases[i + 1].At : end) - x.At:F2} s")));

        // Round r lasts from its instance's creation to the next round's (round 1 from the pipeline's start: there is
        // no pretraining), the last one to the pipeline's last update: the engine's timestamps, not this loop's looks.
        var pipeline = await client.GetInstanceAsync(id, cancellationToken) ?? throw new InvalidOperationException($"pipeline {id} vanished");
        var starts = new List<DateTimeOffset> { pipeline.CreatedAt };
        for (var r = 2; r <= rounds; r++)
        {
            var instance = await client.GetInstanceAsync(LandingEvents.RoundInstance(id, r), cancellationToken)
                ?? throw new InvalidOperationException($"round {r} of pipeline {id} has no instance");
            starts.Add(instance.CreatedAt);
        }

        starts.Add(pipeline.LastUpdatedAt);
        var perRound = starts.Zip(starts.Skip(1), (a, b) => (b - a).TotalSeconds).ToList();
        return (perRound, (pipeline.LastUpdatedAt - pipeline.CreatedAt).TotalSeconds, breakdown);
    }

    /// <summary>How often the benchmark looks at its pipeline's status (for the phase breakdown and the end).</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a no-op receiver waits after finding the queue empty.</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the storage floor looks whether every job was answered (in memory: no request).</summary>
    private static readonly TimeSpan FloorPoll = TimeSpan.FromMilliseconds(10);

    /// <summary>Concurrent receive loops of the no-op worker.</summary>
    private const int NoOpReceivers = 4;

    /// <summary>Members of each fabricated finished pipeline.</summary>
    private const int FinishedMembers = 64;

    /// <summary>
    /// The blobs a finished pipeline of <paramref name="members"/> members leaves (each member's checkpoint and progress,
    /// the soup, the evaluation): what a container holds after many runs, which a landing watcher must not keep listing.
    /// </summary>
    private static async Task FabricateFinishedAsync(SoupStorage storage, int index, int members, CancellationToken cancellationToken)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"finished-{index:D3}");
        var blobs = Enumerable.Range(0, members).SelectMany(m => new[]
        {
            CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile),
            CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.ProgressFile),
        }).Append(CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile))
          .Append(CheckpointLayout.Blob(id, CheckpointLayout.EvaluationSlot(1), CheckpointLayout.EvaluationFile));
        await Parallel.ForEachAsync(blobs, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (blob, ct) =>
            await storage.Checkpoints.GetBlobClient(blob).UploadAsync(BinaryData.FromString("{}"), overwrite: true, ct));
    }

    /// <summary>The no-op worker: answers every job at once with the output its slot expects.</summary>
    private static async Task AnswerJobsAsync(SoupStorage storage, ConcurrentDictionary<string, int> answered, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            QueueMessage[] messages = (await storage.Jobs.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1), cancellationToken)).Value;
            if (messages.Length == 0)
            {
                // Faster than a real worker's idle poll (WorkerOptions.QueuePollInterval, 1 s), slow enough that four
                // idle receivers are not a tenth of the emulator's load between stages (at 50 ms they were).
                await Task.Delay(IdlePoll, cancellationToken);
                continue;
            }

            await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (message, ct) =>
            {
                var job = JsonSerializer.Deserialize(message.Body.ToMemory().Span, SoupJson.Default.Job)!;
                if (job is JobReference reference)
                    job = (await storage.ResolveJobAsync(reference, ct)).Job ?? throw new InvalidDataException($"job {reference.JobId} cannot be read");
                var output = CheckpointLayout.OutputBlob(job);
                if (job is EvaluateJob evaluate)
                    await storage.TryCreateJsonAsync(output, SyntheticReport(evaluate), SoupJson.Default.EvaluationReport, LandingStamp.Of(job), ct);
                else
                    await UploadAsync(storage, output, job, ct);
                await storage.Jobs.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
                answered.AddOrUpdate(job.PipelineId, 1, (_, n) => n + 1);
            });
        }
    }

    private static EvaluationReport SyntheticReport(EvaluateJob job)
    {
        var split = job.Splits[0].Name;
        return new EvaluationReport
        {
            Splits = [new SplitSize(split, 1)],
            Scores = [.. job.Checkpoints.Select((c, i) => new CheckpointScore(c, split, 0.5 + (0.001 * i), 1))],
        };
    }

    private static async Task UploadAsync(SoupStorage storage, string blob, Job job, CancellationToken cancellationToken)
    {
        var values = new float[16];
        var random = new Random(job.Slot.GetHashCode(StringComparison.Ordinal));
        for (var i = 0; i < values.Length; i++)
            values[i] = (float)random.NextDouble();
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        using var stream = new MemoryStream();
        Safetensors.Write(stream, [new TensorData("w", SafetensorsDtype.F32, [16], bytes)], new Dictionary<string, string>());
        stream.Position = 0;
        await storage.TryCreateBlobAsync(blob, stream, LandingStamp.Of(job), cancellationToken);
    }
}
