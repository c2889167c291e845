using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// Called for every blob that lands in the checkpoints container (by the Functions blob trigger, or by the local
/// engine's container watcher): raises the event the blob's job is awaited with, on the instance that awaits it (the
/// round's sub-orchestration for a round's jobs, the pipeline for its init; see <see cref="LandingEvents.InstanceFor"/>).
/// Blobs outside the layout are ignored.
/// A duplicate notification raises a duplicate event, which the orchestration counts once. Blobs of pipelines that
/// do not exist or have ended (e.g. a base checkpoint uploaded under <c>bases/</c>) raise nothing.
/// </summary>
public sealed partial class CheckpointLandingHandler(LandingReader reader, ILogger<CheckpointLandingHandler> logger)
{
    /// <summary>Handles one landed blob; returns the notice raised, or null when the blob completes nothing.</summary>
    public async Task<LandingNotice?> HandleAsync(DurableTaskClient client, string blobName, CancellationToken cancellationToken = default)
    {
        if (CheckpointLayout.Parse(blobName) is not { } landed)
        {
            return null;
        }

        var target = LandingEvents.InstanceFor(landed.PipelineId, landed.Slot);
        var instance = await client.GetInstanceAsync(target, cancellationToken);
        if (instance is not { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending })
        {
            LogNotRunning(logger, blobName);
            return null;
        }

        var notice = await reader.ToNoticeAsync(landed, cancellationToken);
        await client.RaiseEventAsync(target, LandingEvents.Name(landed.Slot), notice, cancellationToken);
        LogLanded(logger, target, landed.Slot, landed.Kind);
        return notice;
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Blob {BlobName} is awaited by no running pipeline or round; ignored")]
    private static partial void LogNotRunning(ILogger logger, string blobName);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Blob landed for instance {InstanceId}, slot {Slot}: {Kind}")]
    private static partial void LogLanded(ILogger logger, string instanceId, string slot, LandingKind kind);
}
