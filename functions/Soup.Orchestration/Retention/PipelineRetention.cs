using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Soup.Core.Storage;

namespace Soup.Orchestration.Retention;

/// <summary>
/// Applies a <see cref="RetentionPolicy"/>: first the checkpoints container, pipeline folder by pipeline folder, then
/// the task hub's ended instances. A folder is touched only when an instance of that id exists in the task hub and has
/// ended (Completed, Failed, Terminated): a running, pending or suspended pipeline, and a folder with no instance here
/// (another task hub's, one already purged, blobs a user put there), are left alone. Instances are purged one by one
/// (<see cref="DurableTaskClient.PurgeInstanceAsync(string, CancellationToken)"/>), the pipeline's sub-orchestrations
/// (<c>{id}:round-RR</c>) before the pipeline, once the pipeline ended longer ago than the instance retention: a bulk
/// purge by filter (<see cref="PurgeInstancesFilter"/>) selects by creation time and would also take the ended rounds of
/// a pipeline that still runs. Both steps are safe to repeat: a second run finds nothing more to do.
/// </summary>
public sealed partial class PipelineRetention(SoupStorage storage, TimeProvider clock, ILogger<PipelineRetention> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The statuses of an instance that can change no more.</summary>
    public static readonly IReadOnlyList<OrchestrationRuntimeStatus> EndedStatuses =
        [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated];

    private static readonly IReadOnlyList<OrchestrationRuntimeStatus> LiveStatuses =
        [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended];

    /// <summary>How deletions are retried through a storage outage.</summary>
    public StorageRetry Retry { get; init; } = StorageRetry.Default;

    /// <summary>
    /// Applies <paramref name="policy"/> now (as <see cref="TimeProvider"/> tells it). With <paramref name="dryRun"/>,
    /// deletes and purges nothing and reports what would go.
    /// </summary>
    /// <exception cref="ArgumentException">The policy is not valid (<see cref="RetentionPolicy.Problem"/>).</exception>
    public async Task<RetentionReport> ApplyAsync(DurableTaskClient client, RetentionPolicy policy, bool dryRun, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Problem is { } problem)
            throw new ArgumentException(problem, nameof(policy));

        var run = new Run(client, policy, dryRun, clock.GetUtcNow());
        foreach (var pipelineId in await PipelineFoldersAsync(cancellationToken))
        {
            try
            {
                await ApplyToFolderAsync(run, pipelineId, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogFolderFailed(logger, pipelineId, ex);
                run.Unfinished.Add(pipelineId);
                run.Errors.Add($"{pipelineId}: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }
        }

        await PurgeInstancesAsync(run, cancellationToken);
        var report = new RetentionReport(run.Now, policy, dryRun, run.Blobs, run.Instances, run.Skipped, run.Errors);
        LogApplied(logger, dryRun ? "would delete" : "deleted", report.Blobs.Count, dryRun ? "would purge" : "purged", report.Instances.Count, report.Errors.Count);
        return report;
    }

    /// <summary>The folders directly under the checkpoints container (one per pipeline id, and whatever else is there).</summary>
    private async Task<List<string>> PipelineFoldersAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Listed again from the start after an outage (a listing has no side effects).
            return await Retry.RunAsync(
                async ct =>
                {
                    var folders = new List<string>();
                    await foreach (var item in storage.Checkpoints.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", null, ct))
                    {
                        if (item.IsPrefix)
                            folders.Add(item.Prefix.TrimEnd('/'));
                    }

                    return folders;
                },
                (ex, delay) => LogRetry(logger, "the checkpoints container's folders", delay, ex),
                cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No checkpoints container yet: nothing to delete.
            return [];
        }
    }

    private async Task ApplyToFolderAsync(Run run, string pipelineId, CancellationToken cancellationToken)
    {
        var instance = await run.Client.GetInstanceAsync(pipelineId, getInputsAndOutputs: true, cancellationToken);
        if (instance is null)
        {
            run.Skipped.Add(new RetentionSkip(pipelineId, "no instance of this id in the task hub: its blobs are left alone"));
            return;
        }

        if (!EndedStatuses.Contains(instance.RuntimeStatus))
        {
            run.Skipped.Add(new RetentionSkip(pipelineId, $"{instance.RuntimeStatus}: a pipeline that has not ended is never touched"));
            return;
        }

        if (!TryKeepSet(instance, out var keep))
        {
            run.Skipped.Add(new RetentionSkip(pipelineId, "its result cannot be read, so the delivered checkpoint is unknown: left alone"));
            run.Unfinished.Add(pipelineId);
            return;
        }

        var blobs = await Retry.RunAsync(
            async ct =>
            {
                var listed = new List<RetentionBlob>();
                await foreach (var blob in storage.Checkpoints.GetBlobsAsync(BlobTraits.None, BlobStates.None, pipelineId + "/", ct))
                    listed.Add(new RetentionBlob(blob.Name, blob.Properties.LastModified ?? run.Now));
                return listed;
            },
            (ex, delay) => LogRetry(logger, pipelineId + "/", delay, ex),
            cancellationToken);

        foreach (var expired in RetentionRules.Expired(pipelineId, instance.LastUpdatedAt, blobs, keep, run.Policy, run.Now))
        {
            if (!run.DryRun)
            {
                var client = storage.Checkpoints.GetBlobClient(expired.Name);
                await Retry.RunAsync(
                    ct => client.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct),
                    (ex, delay) => LogRetry(logger, expired.Name, delay, ex),
                    cancellationToken);
            }

            run.Blobs.Add(expired);
        }
    }

    /// <summary>
    /// The blobs kept whatever their slot: the delivered checkpoint and every round's init and soup, read from the
    /// result of a completed pipeline (with <c>soup.select: best</c> they are members). False when a completed
    /// pipeline's result cannot be read.
    /// </summary>
    private static bool TryKeepSet(OrchestrationMetadata instance, out HashSet<string> keep)
    {
        keep = new HashSet<string>(StringComparer.Ordinal);
        if (instance.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            return true;
        PipelineResult? result;
        try
        {
            result = string.IsNullOrEmpty(instance.SerializedOutput) ? null : JsonSerializer.Deserialize<PipelineResult>(instance.SerializedOutput, Json);
        }
        catch (JsonException)
        {
            return false;
        }

        if (result is null)
            return false;
        keep.Add(result.FinalCheckpoint);
        if (result.Choice is { } choice)
            keep.Add(choice.Checkpoint);
        foreach (var round in result.Rounds ?? [])
        {
            keep.Add(round.Init);
            keep.Add(round.Soup);
        }

        return true;
    }

    private async Task PurgeInstancesAsync(Run run, CancellationToken cancellationToken)
    {
        // An instance that ended before the cutoff was created before it too: the query narrows by creation time and
        // status, and the end time (LastUpdatedAt) decides.
        var cutoff = run.Now - run.Policy.InstanceRetention;
        var ended = new List<OrchestrationMetadata>();
        var query = new OrchestrationQuery { CreatedTo = cutoff, Statuses = [.. EndedStatuses], PageSize = 200 };
        try
        {
            await foreach (var instance in run.Client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
            {
                if (RetentionRules.InstanceExpired(instance.LastUpdatedAt, run.Policy, run.Now))
                    ended.Add(instance);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The task hub cannot be read (storage down): nothing is purged this time; the next run purges it all.
            LogPurgeFailed(logger, "(query)", ex);
            run.Errors.Add($"instances not purged: their query failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            return;
        }

        var purged = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in ended.Where(i => !i.InstanceId.Contains(':', StringComparison.Ordinal)))
        {
            try
            {
                await PurgePipelineAsync(run, instance, purged, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogPurgeFailed(logger, instance.InstanceId, ex);
                run.Errors.Add($"{instance.InstanceId}: purge failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }
        }

        // Sub-orchestrations whose parent is gone (purged by an earlier run that was interrupted, or by hand).
        foreach (var child in ended.Where(i => i.InstanceId.Contains(':', StringComparison.Ordinal) && !purged.Contains(i.InstanceId)))
        {
            var parent = child.InstanceId[..child.InstanceId.IndexOf(':', StringComparison.Ordinal)];
            try
            {
                if (purged.Contains(parent) || await run.Client.GetInstanceAsync(parent, cancellationToken) is not null)
                    continue;
                await PurgeOneAsync(run, child, purged, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogPurgeFailed(logger, child.InstanceId, ex);
                run.Errors.Add($"{child.InstanceId}: purge failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }
        }
    }

    private async Task PurgePipelineAsync(Run run, OrchestrationMetadata instance, HashSet<string> purged, CancellationToken cancellationToken)
    {
        var id = instance.InstanceId;
        if (run.Unfinished.Contains(id))
        {
            run.Skipped.Add(new RetentionSkip(id, "instance kept: its blobs could not all be handled in this run"));
            return;
        }

        var children = new List<OrchestrationMetadata>();
        await foreach (var child in run.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = id + ":" }).WithCancellation(cancellationToken))
            children.Add(child);
        if (children.FirstOrDefault(c => LiveStatuses.Contains(c.RuntimeStatus)) is { } live)
        {
            run.Skipped.Add(new RetentionSkip(id, $"instance kept: its sub-orchestration {live.InstanceId} is {live.RuntimeStatus}"));
            return;
        }

        // Children first: a run interrupted here leaves the parent, which the next run finds again.
        foreach (var child in children)
            await PurgeOneAsync(run, child, purged, cancellationToken);
        await PurgeOneAsync(run, instance, purged, cancellationToken);
    }

    private static async Task PurgeOneAsync(Run run, OrchestrationMetadata instance, HashSet<string> purged, CancellationToken cancellationToken)
    {
        if (!run.DryRun)
            await run.Client.PurgeInstanceAsync(instance.InstanceId, cancellationToken);
        purged.Add(instance.InstanceId);
        run.Instances.Add(new PurgedInstance(instance.InstanceId, instance.Name, instance.RuntimeStatus.ToString(), instance.LastUpdatedAt));
    }

    private sealed class Run(DurableTaskClient client, RetentionPolicy policy, bool dryRun, DateTimeOffset now)
    {
        public DurableTaskClient Client { get; } = client;

        public RetentionPolicy Policy { get; } = policy;

        public bool DryRun { get; } = dryRun;

        public DateTimeOffset Now { get; } = now;

        public List<ExpiredBlob> Blobs { get; } = [];

        public List<PurgedInstance> Instances { get; } = [];

        public List<RetentionSkip> Skipped { get; } = [];

        public List<string> Errors { get; } = [];

        /// <summary>Pipelines whose blobs were not all handled: their instances are kept, so a later run can finish them.</summary>
        public HashSet<string> Unfinished { get; } = new(StringComparer.Ordinal);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Retention: {BlobVerb} {Blobs} blob(s), {InstanceVerb} {Instances} instance(s), {Errors} error(s)")]
    private static partial void LogApplied(ILogger logger, string blobVerb, int blobs, string instanceVerb, int instances, int errors);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "Retention: the blobs of pipeline {PipelineId} could not all be handled; its instance is kept")]
    private static partial void LogFolderFailed(ILogger logger, string pipelineId, Exception exception);

    [LoggerMessage(EventId = 302, Level = LogLevel.Error, Message = "Retention: instance {InstanceId} could not be purged")]
    private static partial void LogPurgeFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Retention: deleting {Blob} failed, retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, string blob, TimeSpan delay, Exception exception);
}

/// <summary>What a retention run did (or, in a dry run, would do).</summary>
/// <param name="Now">The time the run judged expiry by.</param>
/// <param name="Policy">The policy applied.</param>
/// <param name="DryRun">True when nothing was deleted or purged.</param>
/// <param name="Blobs">The blobs deleted (would be deleted), with why.</param>
/// <param name="Instances">The instances purged (would be purged).</param>
/// <param name="Skipped">Pipelines and instances left alone, with why.</param>
/// <param name="Errors">What failed; the rest went on.</param>
public sealed record RetentionReport(
    DateTimeOffset Now, RetentionPolicy Policy, bool DryRun, IReadOnlyList<ExpiredBlob> Blobs, IReadOnlyList<PurgedInstance> Instances,
    IReadOnlyList<RetentionSkip> Skipped, IReadOnlyList<string> Errors);

/// <summary>An instance purged from the task hub.</summary>
public sealed record PurgedInstance(string InstanceId, string Name, string Status, DateTimeOffset EndedAt);

/// <summary>A pipeline folder or instance retention left alone, and why.</summary>
public sealed record RetentionSkip(string Id, string Reason);
