using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Soup.Orchestration.Tests;

/// <summary>A Durable client that passes every call to <paramref name="inner"/> and records the reads: what a test of how much a caller fetches needs.</summary>
internal sealed class RecordingClient(DurableTaskClient inner) : DurableTaskClient("recording")
{
    private readonly List<OrchestrationQuery> _queries = [];
    private readonly List<(string Id, bool WithInputs)> _reads = [];

    /// <summary>Every query of <see cref="GetAllInstancesAsync"/>.</summary>
    public IReadOnlyList<OrchestrationQuery> Queries { get { lock (_queries) { return [.. _queries]; } } }

    /// <summary>Every single-instance read, and whether it fetched inputs and outputs.</summary>
    public IReadOnlyList<(string Id, bool WithInputs)> Reads { get { lock (_reads) { return [.. _reads]; } } }

    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null)
    {
        lock (_queries)
        {
            _queries.Add(filter ?? new OrchestrationQuery());
        }

        return inner.GetAllInstancesAsync(filter);
    }

    public override Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        lock (_reads)
        {
            _reads.Add((instanceId, getInputsAndOutputs));
        }

        return inner.GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation);
    }

    public override Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default) =>
        inner.ScheduleNewOrchestrationInstanceAsync(orchestratorName, input, options, cancellation);

    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
        inner.RaiseEventAsync(instanceId, eventName, eventPayload, cancellation);

    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        inner.WaitForInstanceStartAsync(instanceId, getInputsAndOutputs, cancellation);

    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        inner.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs, cancellation);

    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        inner.SuspendInstanceAsync(instanceId, reason, cancellation);

    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        inner.ResumeInstanceAsync(instanceId, reason, cancellation);

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
