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

    /// <summary>
    /// Handles many landed blobs at once (the local watcher's listing): the landings awaited by one instance under one
    /// event name go as one event per <see cref="LandingNotice.MaxPerEvent"/>, after one look at that instance.
    /// Returns the events raised, each a notice carrying the others in its <see cref="LandingNotice.More"/>.
    /// </summary>
    public async Task<IReadOnlyList<LandingNotice>> HandleManyAsync(DurableTaskClient client, IEnumerable<string> blobNames, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobNames);
        var raised = new List<LandingNotice>();
        var groups = blobNames
            .Select(CheckpointLayout.Parse)
            .OfType<LandedBlob>()
            .GroupBy(l => (Target: LandingEvents.InstanceFor(l.PipelineId, l.Slot), Event: LandingEvents.Name(l.Slot)));
        foreach (var group in groups)
        {
            var instance = await client.GetInstanceAsync(group.Key.Target, cancellationToken);
            if (instance is not { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending })
            {
                foreach (var landed in group)
                    LogNotRunning(logger, landed.BlobName);
                continue;
            }

            var notices = new List<LandingNotice>();
            var bytes = 0;
            foreach (var landed in group)
            {
                var notice = await reader.ToNoticeAsync(landed, cancellationToken);
                var size = NoticeBytes(notice);
                if (notices.Count == LandingNotice.MaxPerEvent || (notices.Count > 0 && bytes + size > MaxEventBytes))
                {
                    raised.Add(await RaiseAsync(client, group.Key.Target, group.Key.Event, notices, cancellationToken));
                    (notices, bytes) = ([], 0);
                }

                notices.Add(notice);
                bytes += size;
            }

            if (notices.Count > 0)
                raised.Add(await RaiseAsync(client, group.Key.Target, group.Key.Event, notices, cancellationToken));
        }

        return raised;
    }

    /// <summary>An event's payload stays under this (failure reasons are the large part), well inside a queue message.</summary>
    private const int MaxEventBytes = 32 * 1024;

    private static int NoticeBytes(LandingNotice notice) => 64 + notice.Slot.Length + notice.BlobName.Length + (notice.Reason?.Length ?? 0);

    private async Task<LandingNotice> RaiseAsync(DurableTaskClient client, string target, string eventName, List<LandingNotice> notices, CancellationToken cancellationToken)
    {
        var notice = notices[0] with { More = notices.Count > 1 ? notices[1..] : null };
        await client.RaiseEventAsync(target, eventName, notice, cancellationToken);
        LogLandedMany(logger, target, notices.Count, eventName);
        return notice;
    }

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "{Count} blob(s) landed for instance {InstanceId} ({EventName})")]
    private static partial void LogLandedMany(ILogger logger, string instanceId, int count, string eventName);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Blob {BlobName} is awaited by no running pipeline or round; ignored")]
    private static partial void LogNotRunning(ILogger logger, string blobName);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Blob landed for instance {InstanceId}, slot {Slot}: {Kind}")]
    private static partial void LogLanded(ILogger logger, string instanceId, string slot, LandingKind kind);
}
