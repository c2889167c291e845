using Azure.Storage.Blobs;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Soup.Cli.Commands;
using Soup.Local;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Orchestration.Retention;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// Retention on real parts: the local engine (Durable Task on the Azure Storage provider, Azurite) runs a pipeline to
/// completion, one to failure and one that keeps running, their jobs answered by blobs this test writes (no workers).
/// Azurite's Last-Modified cannot be backdated, so the retention service's clock (<see cref="TimeProvider"/>) is moved
/// ahead instead: 15 days (members expired, instances not), then 31 days (instances expired).
/// </summary>
public sealed class RetentionEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private const string BaseBlob = "bases/init.safetensors";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Retention_DeletesExpiredMembers_KeepsSoupsResultsReports_LeavesRunningPipelines_PurgesInstances_AndIsIdempotent()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var client = engine.Client;
        await WriteCheckpointAsync(storage.Checkpoints, BaseBlob, 0);

        var completed = await RunCompletedAsync(engine, storage);
        var failed = await RunFailedAsync(engine, storage);
        var running = await StartRunningAsync(engine, storage);

        string[] completedMembers =
        [
            .. Enumerable.Range(0, 2).SelectMany(m => new[]
            {
                CheckpointLayout.Blob(completed, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile),
                CheckpointLayout.Blob(completed, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.ProgressFile),
                CheckpointLayout.Blob(completed, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.ResumeFile),
            }),
        ];
        string[] failedMembers =
        [
            CheckpointLayout.Blob(failed, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ProgressFile),
            CheckpointLayout.Blob(failed, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ResumeFile),
        ];
        string[] kept =
        [
            BaseBlob,
            CheckpointLayout.Blob(completed, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile),
            CheckpointLayout.Blob(completed, CheckpointLayout.EvaluationSlot(1), CheckpointLayout.EvaluationFile),
            RoundResults.BlobName(completed, 1),
            CheckpointLayout.Blob(failed, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.FailureFile),
            CancellationMarker.BlobName(failed),
        ];
        var runningBefore = await ListAsync(storage.Checkpoints, running + "/");
        Assert.NotEmpty(runningBefore);
        var report = PipelineReports.BlobName(completed);
        Assert.True(await storage.Reports.GetBlobClient(report).ExistsAsync(Cancel), "the completed pipeline wrote no report");

        // The command, in a dry run with zero days: everything of the ended pipelines that can go is listed, nothing changes.
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await RetentionCommand.ExecuteAsync(configuration, new RetentionCommandArgs(DryRun: true, MembersDays: "0", InstancesDays: "0"), output, error, Cancel);
        Assert.True(code == 0, $"exit {code}: {error}{output}");
        var listed = output.ToString();
        Assert.Contains("dry run", listed, StringComparison.Ordinal);
        Assert.All(completedMembers.Concat(failedMembers), blob => Assert.Contains(blob, listed, StringComparison.Ordinal));
        Assert.Contains($"  {completed}  (Pipeline, Completed", listed, StringComparison.Ordinal);
        Assert.Contains($"  {completed}:round-01  (Round, Completed", listed, StringComparison.Ordinal);
        Assert.Contains($"  {failed}  (Pipeline, Failed", listed, StringComparison.Ordinal);
        Assert.DoesNotContain($"{running}/", listed.Split("Left alone")[0], StringComparison.Ordinal);
        Assert.Contains($"  {running}  (Running: a pipeline that has not ended is never touched)", listed, StringComparison.Ordinal);
        await AssertExistAsync(storage.Checkpoints, [.. completedMembers, .. failedMembers, .. kept]);
        Assert.NotNull(await client.GetInstanceAsync(completed, Cancel));

        // 15 days on: members (14 days after their soup, or after the end for the failed pipeline's soupless round) go.
        var clock = new ShiftedClock(TimeSpan.FromDays(15));
        var retention = new PipelineRetention(storage, clock, NullLogger<PipelineRetention>.Instance);
        var dry = await retention.ApplyAsync(client, RetentionPolicy.Default, dryRun: true, Cancel);
        Assert.Equal(completedMembers.Concat(failedMembers).Order(StringComparer.Ordinal), dry.Blobs.Select(b => b.Name).Order(StringComparer.Ordinal));
        await AssertExistAsync(storage.Checkpoints, [.. completedMembers, .. failedMembers]);

        var first = await retention.ApplyAsync(client, RetentionPolicy.Default, dryRun: false, Cancel);
        Assert.Empty(first.Errors);
        Assert.Equal(completedMembers.Concat(failedMembers).Order(StringComparer.Ordinal), first.Blobs.Select(b => b.Name).Order(StringComparer.Ordinal));
        Assert.Empty(first.Instances);
        await AssertGoneAsync(storage.Checkpoints, [.. completedMembers, .. failedMembers]);
        await AssertExistAsync(storage.Checkpoints, kept);
        Assert.Equal(runningBefore, await ListAsync(storage.Checkpoints, running + "/"));
        Assert.NotNull(await client.GetInstanceAsync(completed, Cancel));

        // 31 days on: the ended pipelines' instances and their rounds are purged; the running one is not.
        clock.Offset = TimeSpan.FromDays(31);
        var second = await retention.ApplyAsync(client, RetentionPolicy.Default, dryRun: false, Cancel);
        Assert.Empty(second.Errors);
        Assert.Empty(second.Blobs);
        var purged = second.Instances.Select(i => i.InstanceId).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string>(StringComparer.Ordinal) { completed, completed + ":round-01", failed, failed + ":round-01" }, purged);
        Assert.Equal(4, purged.Count);
        foreach (var id in purged)
            Assert.Null(await client.GetInstanceAsync(id, Cancel));
        var list = (PipelineList)(await engine.Api().ListAsync(null, Cancel)).Body;
        Assert.Equal([running], list.Pipelines.Select(p => p.Id));
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await client.GetInstanceAsync(running, Cancel))!.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await client.GetInstanceAsync(running + ":round-01", Cancel))!.RuntimeStatus);
        Assert.Equal(runningBefore, await ListAsync(storage.Checkpoints, running + "/"));
        await AssertExistAsync(storage.Checkpoints, kept);
        Assert.True(await storage.Reports.GetBlobClient(report).ExistsAsync(Cancel), "the report was deleted");

        // Again: nothing more to do. The purged pipelines' folders have no instance now and are left alone.
        var third = await retention.ApplyAsync(client, RetentionPolicy.Default, dryRun: false, Cancel);
        Assert.Empty(third.Errors);
        Assert.Empty(third.Blobs);
        Assert.Empty(third.Instances);
        Assert.Contains(third.Skipped, s => s.Id == completed && s.Reason.StartsWith("no instance", StringComparison.Ordinal));
        Assert.Contains(third.Skipped, s => s.Id == "bases" && s.Reason.StartsWith("no instance", StringComparison.Ordinal));
        await AssertExistAsync(storage.Checkpoints, kept);

        await client.TerminateInstanceAsync(running, "test over", Cancel);
    }

    /// <summary>
    /// Storage stops for ~20 s (longer than the SDK's own retries) while retention runs (its own Azurite, stopped and restarted): the run waits the outage out
    /// or reports the folders it could not finish, never deletes a kept blob and never purges an instance whose blobs it
    /// did not finish; a second run, as the next timer or command would make, finishes the work.
    /// </summary>
    [Fact]
    public async Task Retention_ThroughAStorageOutage_LosesNothingKept_AndTheNextRunFinishes()
    {
        using var azurite = await PrivateAzurite.StartAsync();
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(fixture.NewConfiguration(workers: 0))
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = azurite.ConnectionString })
            .Build();
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        await WriteCheckpointAsync(storage.Checkpoints, BaseBlob, 0);
        var completed = await RunCompletedAsync(engine, storage);
        var failed = await RunFailedAsync(engine, storage);
        string[] expired =
        [
            .. Enumerable.Range(0, 2).SelectMany(m => new[]
            {
                CheckpointLayout.Blob(completed, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile),
                CheckpointLayout.Blob(completed, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.ResumeFile),
            }),
            CheckpointLayout.Blob(failed, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ResumeFile),
        ];
        string[] kept =
        [
            BaseBlob,
            CheckpointLayout.Blob(completed, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile),
            RoundResults.BlobName(completed, 1),
            CheckpointLayout.Blob(failed, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.FailureFile),
        ];
        var retention = new PipelineRetention(storage, new ShiftedClock(TimeSpan.FromDays(31)), NullLogger<PipelineRetention>.Instance)
        {
            Retry = new StorageRetry(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60)),
        };

        await azurite.StopAsync();
        var during = retention.ApplyAsync(engine.Client, RetentionPolicy.Default, dryRun: false, Cancel);
        await Task.Delay(TimeSpan.FromSeconds(20), Cancel);
        await azurite.RestartAsync();
        var first = await during;

        // Whatever the outage cut short is named, and nothing kept went.
        await AssertExistAsync(storage.Checkpoints, kept);
        foreach (var id in new[] { completed, failed })
        {
            var purged = first.Instances.Any(i => i.InstanceId == id);
            var unfinished = first.Errors.Any(e => e.StartsWith(id, StringComparison.Ordinal));
            Assert.False(purged && unfinished, $"{id} was purged although its blobs were not all handled: {string.Join("; ", first.Errors)}");
        }

        var second = await retention.ApplyAsync(engine.Client, RetentionPolicy.Default, dryRun: false, Cancel);
        Assert.Empty(second.Errors);
        await AssertGoneAsync(storage.Checkpoints, expired);
        await AssertExistAsync(storage.Checkpoints, kept);
        Assert.Null(await engine.Client.GetInstanceAsync(completed, Cancel));
        Assert.Null(await engine.Client.GetInstanceAsync(failed, Cancel));
        Assert.Null(await engine.Client.GetInstanceAsync(completed + ":round-01", Cancel));
    }

    [Fact]
    public async Task LocalEngine_WithRetentionInterval_AppliesRetentionWhileItRuns()
    {
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(fixture.NewConfiguration(workers: 0))
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["RetentionInterval"] = "00:00:01",
                ["RetentionInstanceDays"] = "0",
                ["RetentionMemberDays"] = "0",
            })
            .Build();
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(configuration);
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        await WriteCheckpointAsync(storage.Checkpoints, BaseBlob, 0);

        var failed = await RunFailedAsync(engine, storage, mayBePurged: true);
        var running = await StartRunningAsync(engine, storage);

        // With zero days, the engine's own periodic run purges the ended pipeline and deletes its member's files.
        await WaitUntilAsync(async () => await engine.Client.GetInstanceAsync(failed, Cancel) is null, $"the engine to purge {failed}");
        await AssertGoneAsync(storage.Checkpoints, [CheckpointLayout.Blob(failed, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ResumeFile)]);
        await AssertExistAsync(storage.Checkpoints, [CheckpointLayout.Blob(failed, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.FailureFile), BaseBlob]);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await engine.Client.GetInstanceAsync(running, Cancel))!.RuntimeStatus);
        await AssertExistAsync(storage.Checkpoints, [CheckpointLayout.Blob(running, CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile)]);
        await engine.Client.TerminateInstanceAsync(running, "test over", Cancel);
    }

    [Theory]
    [InlineData("-1", null, "member retention must be 0..36500 days, not -1")]
    [InlineData("abc", null, "--members-days must be a whole number of days, not 'abc'")]
    [InlineData(null, "1.5", "--instances-days must be a whole number of days, not '1.5'")]
    [InlineData("20", "10", "member retention (20 days) must not exceed instance retention (10 days)")]
    public async Task Command_BadDays_Exits2NamingTheProblemOnStderr_BeforeTouchingStorage(string? members, string? instances, string problem)
    {
        var configuration = LocalConfiguration.Build(null, 0);
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await RetentionCommand.ExecuteAsync(configuration, new RetentionCommandArgs(false, members, instances), output, error, Cancel);

        Assert.Equal(2, code);
        Assert.Contains(problem, error.ToString(), StringComparison.Ordinal);
        Assert.Empty(output.ToString());
    }

    [Fact]
    public async Task Command_AsAProcess_BadDays_Exits2WithTheReasonOnStderr()
    {
        var configuration = fixture.NewConfiguration(workers: 0);
        using var process = ProductProcess.StartCli(["retention", "--members-days", "lots"], configuration);

        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Contains("--members-days must be a whole number of days, not 'lots'", process.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void CliApp_ParsesRetention()
    {
        var root = CliApp.Build();

        Assert.Empty(root.Parse(["retention"]).Errors);
        Assert.Empty(root.Parse(["retention", "--dry-run", "--members-days", "7", "--instances-days", "30", "--json"]).Errors);
        Assert.NotEmpty(root.Parse(["retention", "extra"]).Errors);
    }

    /// <summary>A one-round pipeline of two members whose checkpoints, heartbeats, resumption checkpoints and evaluation this test writes; returns its id once Completed.</summary>
    private static async Task<string> RunCompletedAsync(LocalEngine engine, SoupStorage storage)
    {
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, Spec("kept", members: 2), cancellationToken: Cancel);
        for (var m = 0; m < 2; m++)
        {
            var slot = CheckpointLayout.MemberSlot(1, m);
            await WriteCheckpointAsync(storage.Checkpoints, CheckpointLayout.Blob(id, slot, CheckpointLayout.ResumeFile), 100 + m);
            await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, slot, CheckpointLayout.ProgressFile)).UploadAsync(BinaryData.FromString("{}"), Cancel);
            await WriteCheckpointAsync(storage.Checkpoints, CheckpointLayout.Blob(id, slot, CheckpointLayout.CheckpointFile), 1 + m, await TestLandings.StampAsync(engine.Client, id, slot));
        }

        var soup = CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile);
        await WaitUntilAsync(async () => await storage.Checkpoints.GetBlobClient(soup).ExistsAsync(Cancel), $"the soup of {id}");
        var scores = Enumerable.Range(0, 2).Select(m => new CheckpointScore(CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, m), CheckpointLayout.CheckpointFile), "test", 0.5, 1))
            .Append(new CheckpointScore(soup, "test", 0.6, 0.9)).ToList();
        await storage.TryCreateJsonAsync(
            CheckpointLayout.Blob(id, CheckpointLayout.EvaluationSlot(1), CheckpointLayout.EvaluationFile),
            new EvaluationReport { Splits = [new SplitSize("test", 200)], Scores = scores },
            SoupJson.Default.EvaluationReport,
            await TestLandings.StampAsync(engine.Client, id, CheckpointLayout.EvaluationSlot(1)),
            Cancel);
        await WaitForStatusAsync(engine.Client, id, OrchestrationRuntimeStatus.Completed);
        return id;
    }

    /// <summary>A one-member pipeline whose member trained a while (heartbeat, resumption checkpoint) and then failed for good; returns its id once Failed.</summary>
    private static async Task<string> RunFailedAsync(LocalEngine engine, SoupStorage storage, bool mayBePurged = false)
    {
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, Spec("failing", members: 1), cancellationToken: Cancel);
        var slot = CheckpointLayout.MemberSlot(1, 0);
        await WriteCheckpointAsync(storage.Checkpoints, CheckpointLayout.Blob(id, slot, CheckpointLayout.ResumeFile), 7);
        await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, slot, CheckpointLayout.ProgressFile)).UploadAsync(BinaryData.FromString("{}"), Cancel);
        await storage.TryCreateJsonAsync(
            CheckpointLayout.Blob(id, slot, CheckpointLayout.FailureFile),
            new FailureRecord($"{id}/{slot}", "failed on purpose by the test", "test", DateTimeOffset.UtcNow),
            SoupJson.Default.FailureRecord,
            await TestLandings.StampAsync(engine.Client, id, slot),
            Cancel);
        if (mayBePurged)
        {
            // An engine that applies retention every second with zero days may purge it before this looks.
            await WaitUntilAsync(
                async () => await engine.Client.GetInstanceAsync(id, Cancel) is not { } m || m.RuntimeStatus == OrchestrationRuntimeStatus.Failed,
                $"instance {id} to fail");
        }
        else
        {
            await WaitForStatusAsync(engine.Client, id, OrchestrationRuntimeStatus.Failed);
        }

        return id;
    }

    /// <summary>A pipeline of two members of which one landed (with its heartbeat): it waits for the other, Running.</summary>
    private static async Task<string> StartRunningAsync(LocalEngine engine, SoupStorage storage)
    {
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, Spec("running", members: 2), cancellationToken: Cancel);
        await WaitForStatusAsync(engine.Client, id + ":round-01", OrchestrationRuntimeStatus.Running);
        var slot = CheckpointLayout.MemberSlot(1, 0);
        await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, slot, CheckpointLayout.ProgressFile)).UploadAsync(BinaryData.FromString("{}"), Cancel);
        await WriteCheckpointAsync(storage.Checkpoints, CheckpointLayout.Blob(id, slot, CheckpointLayout.CheckpointFile), 9, await TestLandings.StampAsync(engine.Client, id, slot));
        await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(id, CheckpointLayout.MemberSlot(1, 1), CheckpointLayout.ResumeFile)).UploadAsync(BinaryData.FromString("x"), Cancel);
        return id;
    }

    private static PipelineSpec Spec(string name, int members) => new()
    {
        Name = name,
        Seed = 3,
        Rounds = 1,
        Data = new DataSpec { Dataset = "tiny", ValidationFraction = 0.2, EvalSplit = "test" },
        Init = new InitSpec { Checkpoint = BaseBlob },
        Members = new MembersSpec { Count = members, Steps = 5, BatchSize = 16, LearningRates = [0.05] },
        RoundTimeout = TimeSpan.FromMinutes(30),
    };

    private static async Task WaitForStatusAsync(DurableTaskClient client, string id, OrchestrationRuntimeStatus status)
    {
        OrchestrationMetadata? metadata = null;
        await WaitUntilAsync(
            async () => (metadata = await client.GetInstanceAsync(id, getInputsAndOutputs: true, Cancel))?.RuntimeStatus == status,
            $"instance {id} to be {status} (it is {metadata?.RuntimeStatus}: {metadata?.FailureDetails?.ErrorMessage})");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200, Cancel);
        }
    }

    private static async Task<List<string>> ListAsync(BlobContainerClient container, string prefix)
    {
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, Cancel))
            names.Add(blob.Name);
        return names;
    }

    private static async Task AssertExistAsync(BlobContainerClient container, IEnumerable<string> blobs)
    {
        foreach (var blob in blobs)
            Assert.True(await container.GetBlobClient(blob).ExistsAsync(Cancel), $"{blob} should exist");
    }

    private static async Task AssertGoneAsync(BlobContainerClient container, IEnumerable<string> blobs)
    {
        foreach (var blob in blobs)
            Assert.False(await container.GetBlobClient(blob).ExistsAsync(Cancel), $"{blob} should have been deleted");
    }

    private static async Task WriteCheckpointAsync(BlobContainerClient container, string blob, int seed, IDictionary<string, string>? stamp = null)
    {
        var random = new Random(seed);
        var values = new float[16];
        for (var i = 0; i < values.Length; i++)
            values[i] = (float)random.NextDouble();
        using var stream = new MemoryStream();
        Safetensors.Write(stream, [new TensorData("w", SafetensorsDtype.F32, [16], System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
        stream.Position = 0;
        await container.GetBlobClient(blob).UploadAsync(stream, new Azure.Storage.Blobs.Models.BlobUploadOptions { Metadata = stamp }, Cancel);
    }

    /// <summary>The system clock moved ahead by <see cref="Offset"/>.</summary>
    private sealed class ShiftedClock(TimeSpan offset) : TimeProvider
    {
        public TimeSpan Offset { get; set; } = offset;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }
}
