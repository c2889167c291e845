using Azure;
using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration.Activities;

namespace Soup.Orchestration.Tests;

/// <summary>A storage error leaves an activity as a short reason and a log reference, never as the raw response.</summary>
public sealed class StorageFailureTests
{
    [Fact]
    public async Task APermanentError_FailsThePipelineWithAShortReason_AndTheWholeResponseIsLogged()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [PipelineOptions.ConnectionName] = "UseDevelopmentStorage=true" })
            .Build();
        var storage = new SoupStorage(configuration, Options.Create(new PipelineOptions { CheckpointsContainer = "no-such-container-" + Guid.NewGuid().ToString("N")[..8] }));
        var logger = new CapturingLogger<StopJobsActivity>();

        var error = await Assert.ThrowsAsync<PipelineFailedException>(
            () => new StopJobsActivity(storage, logger).RunAsync(new Context(), new StopJobsRequest("p", null, "test")));

        Assert.StartsWith("StopJobs: storage answered 404 ContainerNotFound; not retried (log reference ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain("RequestId", error.Message, StringComparison.Ordinal);
        var reference = error.Message[^13..^1];
        var (message, exception) = Assert.Single(logger.Entries);
        Assert.Contains(reference, message, StringComparison.Ordinal);
        Assert.Contains("RequestId", Assert.IsType<RequestFailedException>(exception).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(503, "ServerBusy", typeof(StorageUnavailableException))]
    [InlineData(429, "TooManyRequests", typeof(StorageUnavailableException))]
    [InlineData(0, null, typeof(StorageUnavailableException))]
    [InlineData(403, "AuthorizationPermissionMismatch", typeof(PipelineFailedException))]
    [InlineData(400, "InvalidResourceName", typeof(PipelineFailedException))]
    public void ErrorsAreSortedIntoRetriedAndFailed(int status, string? code, Type expected)
    {
        var raw = new RequestFailedException(status, "Raw message\nRequestId:123\nHeaders: x-ms-secret", code, innerException: null);

        var described = StorageFailure.Describe(raw, "MergeCheckpoints", "p", new CapturingLogger<StorageFailureTests>());

        Assert.IsType(expected, described);
        Assert.Contains($"{status} {code ?? "(no error code)"}", described.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("RequestId", described.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("x-ms-secret", described.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStageTheSpecCannotPlan_FailsThePipelineWithThePlannersMessage_Unretried()
    {
        var error = await Assert.ThrowsAsync<PipelineFailedException>(
            () => new PlanningActivity(new CapturingLogger<PlanningActivity>()).RunAsync(new Context(), "probe"));

        Assert.Equal("the spec has no linear probe stage", error.Message);
    }

    /// <summary>An activity whose planning fails, as the dispatch and summary activities' do for a spec without the stage.</summary>
    private sealed class PlanningActivity(ILogger logger) : StorageActivity<string, int>(logger)
    {
        protected override Task<int> RunCoreAsync(TaskActivityContext context, string input) =>
            Task.FromResult(JobPlanner.Plan(TestSpecs.Create(rounds: 1, members: 2), new DispatchRequest("h", "p", JobStages.Probe, 0, "init")).Count);
    }

    private sealed class Context : TaskActivityContext
    {
        public override TaskName Name => new("StopJobs");

        public override string InstanceId => "p:round-01";
    }

    private sealed class CapturingLogger<T> : ILogger<T>
    {
        public List<(string Message, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((formatter(state, exception), exception));
    }
}
