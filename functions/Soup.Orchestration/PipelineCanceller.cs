using System.Text.Json;
using Azure;
using Microsoft.DurableTask.Client;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// Cancels a pipeline: records the cancellation marker (<see cref="CancellationMarker"/>) so workers drop its
/// outstanding jobs, then terminates the orchestration and every running instance named <c>{pipelineId}:...</c> (its
/// sub-orchestrations, such as rounds): the local engine's sidecar ignores a recursive terminate, so they are terminated
/// one by one. The marker is written first: jobs dispatched before the termination takes effect are dropped too. A
/// scheduled run's cancellation reaches the pipeline it runs.
/// </summary>
public sealed class PipelineCanceller(DurableTaskClient client, SoupStorage storage)
{
    /// <summary>
    /// Cancels <paramref name="pipelineId"/> and returns the marker that stands: the first cancellation's, when the
    /// pipeline was cancelled before (its marker is never overwritten).
    /// </summary>
    public async Task<CancellationMarker> CancelAsync(string pipelineId, string reason, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipelineId);
        var marker = new CancellationMarker(pipelineId, reason, now);
        var blobName = CancellationMarker.BlobName(pipelineId);
        if (!await storage.TryCreateBlobAsync(blobName, new MemoryStream(marker.ToJson()), cancellationToken))
            marker = await ReadAsync(pipelineId, cancellationToken) ?? marker;

        // A scheduled run's pipeline has an id of its own ({id}-{time}-{random}, recorded in the run's status), which
        // the {id}: prefix does not reach: cancel it as a pipeline, so its jobs are dropped too.
        var scheduled = await client.GetInstanceAsync(pipelineId, getInputsAndOutputs: true, cancellationToken);
        var child = scheduled?.Name == TaskNames.ScheduledPipeline ? scheduled.ReadCustomStatusAs<ScheduledRunRecord>()?.PipelineId : null;

        await client.TerminateInstanceAsync(pipelineId, new TerminateInstanceOptions(reason, Recursive: true), cancellationToken);
        foreach (var instance in await RunningChildrenAsync(pipelineId, cancellationToken))
            await client.TerminateInstanceAsync(instance, new TerminateInstanceOptions(reason, Recursive: true), cancellationToken);
        if (child is not null && child != pipelineId)
            await CancelAsync(child, reason, now, cancellationToken);
        return marker;
    }

    /// <summary>The instances named <c>{pipelineId}:...</c> that have not ended.</summary>
    public async Task<IReadOnlyList<string>> RunningChildrenAsync(string pipelineId, CancellationToken cancellationToken = default)
    {
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = pipelineId + ":",
            Statuses = [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended],
        };
        var children = new List<string>();
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
            children.Add(instance.InstanceId);
        return children;
    }

    /// <summary>The pipeline's cancellation marker, or null when it was never cancelled (or the marker is unreadable).</summary>
    public async Task<CancellationMarker?> ReadAsync(string pipelineId, CancellationToken cancellationToken = default)
    {
        try
        {
            var content = await storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName(pipelineId)).DownloadContentAsync(cancellationToken);
            return CancellationMarker.FromJson(content.Value.Content.ToMemory().Span);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
