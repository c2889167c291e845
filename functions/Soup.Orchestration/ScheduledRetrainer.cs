using System.Security.Cryptography;
using System.Text;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// Scheduled retraining: starts a run (<see cref="ScheduledPipelineOrchestrator"/>) for each valid spec stored in the
/// specs container, at most one running per spec blob. The run's instance id is fixed per spec blob and the start asks
/// the backend to refuse it while a run with that id is pending, running or suspended (dedupe, not check-then-start),
/// so two schedules firing at once start one run; once a run has ended, the id is reused by the next schedule.
/// </summary>
public sealed partial class ScheduledRetrainer(SoupStorage storage, ILogger<ScheduledRetrainer> logger, Microsoft.Extensions.Options.IOptions<PipelineLimits>? limits = null)
{
    /// <summary>The statuses in which an existing run blocks a new start.</summary>
    public static readonly IReadOnlyList<OrchestrationRuntimeStatus> BlockingStatuses =
        [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended];

    /// <summary>Starts a run for every valid <c>.json</c> spec in the specs container; invalid ones are logged and skipped.</summary>
    public async Task<IReadOnlyList<ScheduledStart>> StartAllAsync(DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        var starts = new List<ScheduledStart>();
        await foreach (var blob in storage.Specs.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            if (!blob.Name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // Each spec is independent: one that cannot start (its dataset's container is missing, storage answered
            // an error) is recorded and the others still start.
            try
            {
                if (await StartSpecAsync(client, blob.Name, cancellationToken) is { } start)
                    starts.Add(start);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogSpecFailed(logger, blob.Name, ex);
                starts.Add(new ScheduledStart("", Started: false, blob.Name, ex.Message));
            }
        }

        return starts;
    }

    private async Task<ScheduledStart?> StartSpecAsync(DurableTaskClient client, string blobName, CancellationToken cancellationToken)
    {
        // ETag and last-modified come with the content read, so they name exactly the version that runs.
        var download = (await storage.Specs.GetBlobClient(blobName).DownloadContentAsync(cancellationToken)).Value;
        var parsed = SpecParser.Parse(download.Content.ToString());
        if (parsed.IsValid && (limits?.Value ?? new PipelineLimits()).Check(parsed.Spec!, storage.DatasetContainers) is { Count: > 0 } overBudget)
            parsed = parsed with { Spec = null, Problems = overBudget };
        if (!parsed.IsValid)
        {
            LogInvalidSpec(logger, blobName, string.Join("; ", parsed.Problems));
            return new ScheduledStart("", Started: false, blobName, "invalid spec: " + string.Join("; ", parsed.Problems));
        }

        string? data;
        IReadOnlyDictionary<string, string> pinned;
        try
        {
            (data, pinned) = await DatasetVersion.ReadAsync(storage.Blobs, parsed.Spec!, cancellationToken);
        }
        catch (Azure.RequestFailedException ex)
        {
            throw new InvalidOperationException(
                $"dataset '{parsed.Spec!.Data.Dataset}' of spec '{blobName}' cannot be read: {ex.Message.Split('\n')[0]} ({ex.Status} {ex.ErrorCode})", ex);
        }

        var run = new ScheduledRun(blobName, download.Details.ETag.ToString(), download.Details.LastModified, data, parsed.Spec!)
        {
            DataVersions = pinned.Count > 0 ? pinned : null,
        };
        var start = await StartAsync(client, new BlobSpecStore(storage), run, cancellationToken) with { SpecBlob = blobName };
        if (start.Started)
        {
            LogStarted(logger, blobName, start.InstanceId, run.SpecETag);
        }
        else
        {
            LogStillRunning(logger, blobName, start.InstanceId);
        }

        return start;
    }

    /// <summary>
    /// The fixed instance id of a spec blob's scheduled runs: <c>{spec name}-scheduled-{10 hex digits of the blob name's
    /// SHA-256}</c> (specs of one name in two blobs do not block each other).
    /// </summary>
    public static string InstanceId(string specName, string specBlob) =>
        $"{specName}-scheduled-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(specBlob)))[..10]}";

    /// <summary>
    /// Starts <paramref name="run"/> unless a run of the same spec blob is still pending, running or suspended. The spec
    /// is stored in <paramref name="specs"/> first, and the run carries its hash and outline.
    /// </summary>
    public static async Task<ScheduledStart> StartAsync(DurableTaskClient client, ISpecStore specs, ScheduledRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(run);
        var input = await PipelineStarter.InputAsync(specs, run.Spec, cancellationToken);
        run = run with { Spec = input.Outline, SpecHash = input.SpecHash };
        var id = InstanceId(run.Spec.Name, run.SpecBlob);
        var options = new StartOrchestrationOptions(id).WithDedupeStatuses([.. BlockingStatuses]);
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(TaskNames.ScheduledPipeline), run, options, cancellationToken);
            return new ScheduledStart(id, Started: true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The backend refused the start (the exception type differs between backends and transports): report a
            // dedupe only when a run with this id really blocks it, and let any other failure propagate.
            var existing = await client.GetInstanceAsync(id, cancellationToken);
            if (existing is not null && BlockingStatuses.Contains(existing.RuntimeStatus))
            {
                return new ScheduledStart(id, Started: false);
            }

            throw;
        }
    }

    [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Scheduled spec {Spec} could not be started; the other specs go on")]
    private static partial void LogSpecFailed(ILogger logger, string spec, Exception exception);

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Scheduled spec {Spec} is invalid and was skipped: {Problems}")]
    private static partial void LogInvalidSpec(ILogger logger, string spec, string problems);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Scheduled spec {Spec} started run {InstanceId} (spec ETag {ETag})")]
    private static partial void LogStarted(ILogger logger, string spec, string instanceId, string? eTag);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Scheduled spec {Spec}: run {InstanceId} is still going; no second run started")]
    private static partial void LogStillRunning(ILogger logger, string spec, string instanceId);
}
