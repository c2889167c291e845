using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DurableTask.Core.Exceptions;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>Starts pipelines from specs that passed validation; shared by the HTTP API, the timer and the CLI.</summary>
public static class PipelineStarter
{
    /// <summary>
    /// Every status an existing instance may have: a start under an id in any of them is refused (Durable's dedupe), so
    /// an id names one pipeline for good, even after it ended.
    /// </summary>
    public static readonly OrchestrationRuntimeStatus[] EveryStatus =
    [
        OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Suspended,
        OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated,
    ];

    /// <summary>
    /// A new pipeline id: the spec's name, the UTC start time and 64 random bits (16 hex digits), a safe blob folder name.
    /// Two starts of one name in one second collide with probability about 2^-64; a start never takes an existing id
    /// anyway (<see cref="StartAsync"/>).
    /// </summary>
    public static string NewPipelineId(string name, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{name}-{now:yyyyMMdd-HHmmss}-{RandomNumberGenerator.GetHexString(16, lowercase: true)}");

    /// <summary>
    /// The ids of the pipelines that have not ended (pending, running or suspended), by a query without inputs or outputs;
    /// rounds and other instances are left out.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RunningPipelinesAsync(DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var query = new OrchestrationQuery { Statuses = ScheduledRetrainer.BlockingStatuses, FetchInputsAndOutputs = false, PageSize = 500 };
        var ids = new List<string>();
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            if (instance.Name == TaskNames.Pipeline)
                ids.Add(instance.InstanceId);
        }

        return ids;
    }

    /// <summary>How many fresh ids a start draws before it gives up (each taken id means an existing instance).</summary>
    private const int MaxIdDraws = 5;

    /// <summary>
    /// The pipeline id an idempotency key stands for: <c>key-</c> and 32 hex digits of the key's SHA-256. It depends on the
    /// key alone, so every request with the key names the same pipeline, whatever its spec.
    /// </summary>
    public static string PipelineIdForKey(string idempotencyKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        return "key-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))[..32];
    }

    /// <summary>
    /// The pipeline orchestration's input for <paramref name="spec"/>: stores the spec once by its hash (idempotent: a
    /// spec stored before is left alone) and returns the hash with the spec's outline. History holds this, never the spec.
    /// </summary>
    public static async Task<PipelineInput> InputAsync(ISpecStore specs, PipelineSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(spec);
        return new PipelineInput(await specs.PutAsync(spec, cancellationToken), SpecOutline.Of(spec));
    }

    /// <summary>
    /// Stores the spec (<see cref="ISpecStore"/>), schedules the pipeline orchestration under a new id and returns it.
    /// The start is deduplicated against every status, so it never replaces an existing instance: an id that is taken
    /// is drawn again, and so is one whose folder in <paramref name="storage"/> holds blobs (an instance purged since).
    /// </summary>
    public static Task<string> StartAsync(DurableTaskClient client, ISpecStore specs, PipelineSpec spec, CancellationToken cancellationToken = default, SoupStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return StartAsync(client, specs, spec, () => NewPipelineId(spec.Name, DateTimeOffset.UtcNow), cancellationToken, storage);
    }

    /// <summary><see cref="StartAsync(DurableTaskClient, ISpecStore, PipelineSpec, CancellationToken, SoupStorage)"/> with the ids drawn by <paramref name="newId"/>.</summary>
    /// <exception cref="InvalidOperationException">Every id drawn was taken.</exception>
    public static async Task<string> StartAsync(
        DurableTaskClient client, ISpecStore specs, PipelineSpec spec, Func<string> newId, CancellationToken cancellationToken = default, SoupStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(newId);
        for (var draw = 0; draw < MaxIdDraws; draw++)
        {
            var id = newId();
            if (storage is not null && await FolderInUseAsync(storage, id, cancellationToken))
                continue;
            if (await StartOnceAsync(client, specs, spec, id, cancellationToken))
                return id;
        }

        throw new InvalidOperationException($"{MaxIdDraws} pipeline ids drawn for '{spec.Name}' were all taken; nothing was started.");
    }

    /// <summary>
    /// Whether the pipeline folder <c>{pipelineId}/</c> of the checkpoints container holds a blob other than an
    /// idempotency claim: the folder of an earlier pipeline (its instance purged, its soups kept), which a new pipeline
    /// must not take over (its landings would count as the new pipeline's).
    /// </summary>
    public static async Task<bool> FolderInUseAsync(SoupStorage storage, string pipelineId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var claim = IdempotencyClaim.BlobName(pipelineId);
        await foreach (var page in storage.Checkpoints.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, pipelineId + "/", cancellationToken).AsPages(pageSizeHint: 2))
        {
            if (page.Values.Any(b => b.Name != claim))
                return true;
        }

        return false;
    }

    /// <summary>
    /// Starts the pipeline under <paramref name="pipelineId"/> unless an instance with that id exists in any status.
    /// The start itself is deduplicated by Durable (no look-up before it, so concurrent callers cannot both start);
    /// returns false when an instance already existed and nothing was started.
    /// </summary>
    public static async Task<bool> StartOnceAsync(
        DurableTaskClient client, ISpecStore specs, PipelineSpec spec, string pipelineId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var input = await InputAsync(specs, spec, cancellationToken);
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                new TaskName(TaskNames.Pipeline), input, new StartOrchestrationOptions(pipelineId).WithDedupeStatuses(EveryStatus), cancellationToken);
            return true;
        }
        catch (OrchestrationAlreadyExistsException)
        {
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is not ArgumentException)
        {
            // Some hosts report a deduplicated start with another exception type; the instance's existence tells.
            if (await client.GetInstanceAsync(pipelineId, cancellationToken) is not null)
                return false;
            throw;
        }
    }
}
