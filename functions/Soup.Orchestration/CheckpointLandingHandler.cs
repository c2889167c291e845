using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// Called for every blob that lands in the checkpoints container (by the Functions blob trigger, or by the local
/// engine's container watcher): raises the event the blob's job is awaited with, on the instance that awaits it (the
/// round's sub-orchestration for a round's jobs, the pipeline for its init; see <see cref="LandingEvents.InstanceFor"/>).
/// Blobs outside the layout are ignored, and so are blobs whose <see cref="LandingStamp"/> does not name the job of their
/// folder and the pipeline's spec (logged as a warning).
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
        var instance = await client.GetInstanceAsync(target, getInputsAndOutputs: true, cancellationToken);
        if (instance is not { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending })
        {
            LogNotRunning(logger, blobName);
            return null;
        }

        if (await RefusalAsync(landed, metadata: null, SpecHashOf(instance), cancellationToken) is { } refusal)
        {
            LogRefused(logger, blobName, refusal);
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
    public Task<IReadOnlyList<LandingNotice>> HandleManyAsync(DurableTaskClient client, IEnumerable<string> blobNames, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobNames);
        return HandleManyAsync(client, blobNames.Select(name => new ListedBlob(name, null)), cancellationToken);
    }

    /// <summary>
    /// <see cref="HandleManyAsync(DurableTaskClient, IEnumerable{string}, CancellationToken)"/> for blobs listed with their
    /// metadata (a listing with <c>BlobTraits.Metadata</c>): their stamps are checked without a request per blob.
    /// </summary>
    public async Task<IReadOnlyList<LandingNotice>> HandleManyAsync(DurableTaskClient client, IEnumerable<ListedBlob> blobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var raised = new List<LandingNotice>();
        var groups = blobs
            .Select(b => (Landed: CheckpointLayout.Parse(b.Name), b.Metadata))
            .Where(b => b.Landed is not null)
            .GroupBy(b => (Target: LandingEvents.InstanceFor(b.Landed!.PipelineId, b.Landed.Slot), Event: LandingEvents.Name(b.Landed.Slot)));
        foreach (var group in groups)
        {
            var instance = await client.GetInstanceAsync(group.Key.Target, getInputsAndOutputs: true, cancellationToken);
            if (instance is not { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending })
            {
                foreach (var (landed, _) in group)
                    LogNotRunning(logger, landed!.BlobName);
                continue;
            }

            var specHash = SpecHashOf(instance);
            var notices = new List<LandingNotice>();
            var bytes = 0;
            foreach (var (landed, metadata) in group)
            {
                if (await RefusalAsync(landed!, metadata, specHash, cancellationToken) is { } refusal)
                {
                    LogRefused(logger, landed!.BlobName, refusal);
                    continue;
                }

                var notice = await reader.ToNoticeAsync(landed!, cancellationToken);
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

    /// <summary>Why <paramref name="landed"/> completes nothing (its stamp, read from the blob when not listed), or null.</summary>
    private async Task<string?> RefusalAsync(LandedBlob landed, IDictionary<string, string>? metadata, string? specHash, CancellationToken cancellationToken)
    {
        if (metadata is null)
        {
            try
            {
                metadata = (await reader.Storage.Checkpoints.GetBlobClient(landed.BlobName).GetPropertiesAsync(cancellationToken: cancellationToken)).Value.Metadata;
            }
            catch (Azure.RequestFailedException ex) when (ex.Status == 404)
            {
                return "it no longer exists";
            }
        }

        return LandingStamp.Problem(landed, metadata, specHash);
    }

    /// <summary>The spec hash in a pipeline's or a round's input (null when it has none: instances started before specs were stored).</summary>
    private static string? SpecHashOf(OrchestrationMetadata instance)
    {
        if (string.IsNullOrEmpty(instance.SerializedInput))
            return null;
        try
        {
            using var input = JsonDocument.Parse(instance.SerializedInput);
            if (input.RootElement.ValueKind != JsonValueKind.Object)
                return null;
            foreach (var property in input.RootElement.EnumerateObject())
            {
                if (property.NameEquals("specHash") || property.NameEquals("SpecHash"))
                    return property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
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

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Blob {BlobName} completes nothing: {Reason}")]
    private static partial void LogRefused(ILogger logger, string blobName, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "{Count} blob(s) landed for instance {InstanceId} ({EventName})")]
    private static partial void LogLandedMany(ILogger logger, string instanceId, int count, string eventName);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Blob {BlobName} is awaited by no running pipeline or round; ignored")]
    private static partial void LogNotRunning(ILogger logger, string blobName);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Blob landed for instance {InstanceId}, slot {Slot}: {Kind}")]
    private static partial void LogLanded(ILogger logger, string instanceId, string slot, LandingKind kind);
}

/// <summary>A blob as a listing gives it: its name and, when listed with them, its metadata (null: read it when needed).</summary>
/// <param name="Name">The blob's name in the checkpoints container.</param>
/// <param name="Metadata">Its metadata, or null.</param>
public sealed record ListedBlob(string Name, IDictionary<string, string>? Metadata);
