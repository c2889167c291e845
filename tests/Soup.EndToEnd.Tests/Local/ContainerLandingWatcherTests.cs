using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;
using Soup.Local;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests.Local;

/// <summary>
/// The local landing watcher against a storage that refuses its listing (on Azurite: a checkpoints container that does
/// not exist, 404): it asks again less and less often instead of at every poll, and serves again once storage answers.
/// </summary>
public sealed class ContainerLandingWatcherTests
{
    [Fact]
    public async Task AFailingListing_IsRetriedWithGrowingPauses_AndTheWatcherServesAgainOnceStorageAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        var container = "watcher-" + Guid.NewGuid().ToString("N")[..12];
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = "UseDevelopmentStorage=true" })
            .Build();
        var storage = new SoupStorage(configuration, Options.Create(new PipelineOptions { CheckpointsContainer = container }));
        var client = new OnePipelineClient("p-watch");
        var logger = new FailureLog();

        // Polls every 50 ms, each a full pass (the running pipeline's folder): without a backoff, ~50 listings in 2.5 s.
        var watcher = new ContainerLandingWatcher(
            storage,
            new CheckpointLandingHandler(new LandingReader(storage), NullLogger<CheckpointLandingHandler>.Instance),
            client,
            new LocalEngineOptions { LandingPollInterval = TimeSpan.FromMilliseconds(50), LandingFullScanInterval = TimeSpan.Zero },
            logger);
        await watcher.StartAsync(ct);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2.5), ct);
            var early = logger.Failures;
            Assert.InRange(early.Count, 2, 3); // at 0 s, after 1 s, (after 2 s more: at ~3 s)
            Assert.Equal(TimeSpan.FromSeconds(1), early[0].Pause);
            Assert.Equal(TimeSpan.FromSeconds(2), early[1].Pause);
            Assert.All(early, f => Assert.Contains("404 ContainerNotFound", f.Message, StringComparison.Ordinal));
            Assert.All(early, f => Assert.DoesNotContain("RequestId", f.Message, StringComparison.Ordinal)); // the short reason

            // Storage answers again, and a landing waits in the pipeline's folder: the next try finds it and hands it on.
            await storage.Checkpoints.CreateAsync(cancellationToken: ct);
            await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob("p-watch", CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile))
                .UploadAsync(BinaryData.FromString("x"), ct);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (client.Looked.IsEmpty && DateTime.UtcNow < deadline)
                await Task.Delay(50, ct);

            Assert.Contains(LandingEvents.InstanceFor("p-watch", CheckpointLayout.MemberSlot(1, 0)), client.Looked);
            var settled = logger.Failures.Count;
            await Task.Delay(TimeSpan.FromSeconds(1), ct); // ~20 polls, all answered
            Assert.Equal(settled, logger.Failures.Count);
        }
        finally
        {
            await watcher.StopAsync(CancellationToken.None);
            await storage.Checkpoints.DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>A task hub with one running pipeline, recording which instances the watcher looked up.</summary>
    private sealed class OnePipelineClient(string pipelineId) : DurableTaskClient("one-pipeline")
    {
        public System.Collections.Concurrent.ConcurrentBag<string> Looked { get; } = [];

        public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) =>
            Pageable.Create((_, _, _) => Task.FromResult(new Page<OrchestrationMetadata>(
                [new OrchestrationMetadata(TaskNames.Pipeline, pipelineId) { RuntimeStatus = OrchestrationRuntimeStatus.Running }], null)));

        public override Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
        {
            Looked.Add(instanceId);
            return Task.FromResult<OrchestrationMetadata?>(null); // not running: the landing completes nothing
        }

        public override Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
            throw new NotSupportedException();

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>The watcher's "listing failed" warnings, with the pause each announced.</summary>
    private sealed class FailureLog : ILogger<ContainerLandingWatcher>
    {
        private readonly List<(string Message, TimeSpan Pause)> _failures = [];

        public IReadOnlyList<(string Message, TimeSpan Pause)> Failures { get { lock (_failures) { return [.. _failures]; } } }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != 300 || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
                return;
            var pause = (TimeSpan)values.Single(v => v.Key == "Pause").Value!;
            lock (_failures)
            {
                _failures.Add((formatter(state, exception), pause));
            }
        }
    }
}
