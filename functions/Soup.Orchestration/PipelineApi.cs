using System.Text.Json;
using Microsoft.DurableTask.Client;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// The HTTP API's logic, written once: the Functions app's HTTP functions and <c>pipeline serve</c> only read the
/// request, call one method and write the <see cref="ApiResult"/> back. Links are built from
/// <c>pipelinesUri</c>, the URL of <c>/api/pipelines</c> on the host that took the request.
/// </summary>
/// <remarks>The report route needs <c>reports</c>, the host's <see cref="IPipelineReportRenderer"/>.</remarks>
public sealed class PipelineApi(
    DurableTaskClient client, SoupStorage storage, TimeProvider? clock = null, IPipelineReportRenderer? reports = null, PipelineLimits? limits = null)
{
    /// <summary>The largest request body either host reads (1 MiB); a spec is a few KB.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly PipelineLimits _limits = limits ?? new PipelineLimits();

    /// <summary>The request header whose value makes a start idempotent.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The longest idempotency key accepted.</summary>
    public const int MaxIdempotencyKeyLength = 256;

    /// <summary>The longest cancellation reason recorded.</summary>
    public const int MaxReasonLength = 1000;

    /// <summary>How long a claimed key may go without its pipeline before another request with the key starts it.</summary>
    public static readonly TimeSpan ClaimGrace = TimeSpan.FromSeconds(30);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly string StatusNames = string.Join(", ", PipelineStarter.EveryStatus);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>
    /// <c>POST /api/pipelines</c>: 400 with every problem of the spec; else 202 with the new pipeline. With an
    /// <paramref name="idempotencyKey"/> the pipeline id is derived from the key, the key is claimed with a conditional
    /// write (<see cref="IdempotencyClaim"/>) and the start is deduplicated by Durable: the same key answers the same
    /// pipeline (<c>created: false</c>), never a second one, even after it ended; a different spec under a used key is a
    /// 409.
    /// </summary>
    public async Task<ApiResult> StartAsync(string body, string? idempotencyKey, Uri pipelinesUri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipelinesUri);
        if (idempotencyKey is not null && (idempotencyKey.Length is 0 or > MaxIdempotencyKeyLength || idempotencyKey.Any(char.IsControl)))
        {
            return ApiResult.Problem(400, "Invalid Idempotency-Key",
                $"The {IdempotencyKeyHeader} header must be 1 to {MaxIdempotencyKeyLength} characters without control characters.");
        }

        var parsed = SpecParser.Parse(body ?? "");
        if (!parsed.IsValid)
            return new ApiResult(400, SpecProblemDetails.From(parsed.Problems));

        var spec = parsed.Spec!;
        if (_limits.Check(spec, storage.DatasetContainers) is { Count: > 0 } overBudget)
            return new ApiResult(400, SpecProblemDetails.From(overBudget));

        // A new pipeline must fit the running limit; a key that already names one answers it whatever the load.
        if ((idempotencyKey is null || await client.GetInstanceAsync(PipelineStarter.PipelineIdForKey(idempotencyKey), cancellationToken) is null)
            && await CountRunningAsync(cancellationToken) is var running && running >= _limits.MaxRunningPipelines)
        {
            return ApiResult.Problem(429, "Too many running pipelines",
                $"{running} pipelines are running, and this deployment runs at most {_limits.MaxRunningPipelines} at once ({nameof(PipelineLimits.MaxRunningPipelines)}): retry once one has ended, or raise the setting.");
        }

        if (idempotencyKey is null)
        {
            var id = await PipelineStarter.StartAsync(client, new BlobSpecStore(storage), spec, cancellationToken, storage);
            return Accepted(id, pipelinesUri, created: true);
        }

        var keyed = PipelineStarter.PipelineIdForKey(idempotencyKey);
        var claim = new IdempotencyClaim(keyed, SpecHash.Compute(spec), _clock.GetUtcNow());
        if (await storage.TryCreateBlobAsync(IdempotencyClaim.BlobName(keyed), new MemoryStream(claim.ToJson()), cancellationToken))
        {
            // This request claimed the key: it starts the pipeline (still deduplicated by Durable, as a second guard).
            return await StartKeyedAsync(spec, keyed, pipelinesUri, cancellationToken);
        }

        var existing = await ReadClaimAsync(keyed, cancellationToken);
        if (existing is not null && existing.SpecHash != claim.SpecHash)
        {
            return ApiResult.Problem(409, "Idempotency-Key already used",
                $"The {IdempotencyKeyHeader} was already used to start pipeline '{keyed}' with a different spec; use a new key for a new pipeline.", keyed);
        }

        // A claim whose pipeline never appeared (its request died between the two writes) is taken over after a grace
        // period; a start cannot replace anything there, since no instance exists.
        if (existing is not null && _clock.GetUtcNow() - existing.ClaimedAt > ClaimGrace && await client.GetInstanceAsync(keyed, cancellationToken) is null)
            return await StartKeyedAsync(spec, keyed, pipelinesUri, cancellationToken);

        return Accepted(keyed, pipelinesUri, created: false);
    }

    /// <summary>
    /// Starts the keyed pipeline, unless its folder holds an earlier pipeline's blobs (the key's pipeline ended and was
    /// purged, its checkpoints kept): a new pipeline there would count the old landings as its own, so the key is
    /// refused instead (409), and nothing is started or changed.
    /// </summary>
    private async Task<ApiResult> StartKeyedAsync(PipelineSpec spec, string keyed, Uri pipelinesUri, CancellationToken cancellationToken)
    {
        if (await client.GetInstanceAsync(keyed, cancellationToken) is null && await PipelineStarter.FolderInUseAsync(storage, keyed, cancellationToken))
        {
            return ApiResult.Problem(409, "Idempotency-Key already used",
                $"The {IdempotencyKeyHeader} named pipeline '{keyed}', which has ended and been purged; its checkpoints remain in folder '{keyed}/'. Use a new key for a new pipeline.", keyed);
        }

        return Accepted(keyed, pipelinesUri, await PipelineStarter.StartOnceAsync(client, new BlobSpecStore(storage), spec, keyed, cancellationToken));
    }

    /// <summary>
    /// Reads a request body of at most <see cref="MaxBodyBytes"/> as UTF-8: the text, or the problem to answer (413 for a
    /// longer body, 400 for bytes that are not UTF-8). Both hosts read bodies through this.
    /// </summary>
    public static async Task<(string? Text, ApiResult? Problem)> ReadBodyAsync(Stream body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
                return (null, BodyTooLarge());
            buffer.Write(chunk, 0, read);
        }

        try
        {
            return (StrictUtf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), null);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return (null, ApiResult.Problem(400, "Body is not UTF-8", "The request body must be UTF-8 JSON."));
        }
    }

    /// <summary>The answer to a body over <see cref="MaxBodyBytes"/>.</summary>
    public static ApiResult BodyTooLarge() =>
        ApiResult.Problem(413, "Request body too large", $"The request body is over {MaxBodyBytes:N0} bytes; a pipeline spec is a few KB.");

    /// <summary><c>GET /api/pipelines/{id}</c>: the status view with the running jobs' progress; 404 for an unknown id.</summary>
    public async Task<ApiResult> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var view = await PipelineStatusReader.ReadAsync(client, storage, id, cancellationToken);
        if (view is null)
            return NotFound(id);

        if (!view.IsTerminal && view.Progress is { } progress)
            view = view with { Jobs = await new JobProgressReader(storage).ReadAsync(id, progress.Round, cancellationToken) };
        return new ApiResult(200, view);
    }

    /// <summary>
    /// <c>GET /api/pipelines/{id}/report</c>: the pipeline's report as one HTML page (<see cref="HtmlPage"/>); 404 for an
    /// unknown id. An ended pipeline's is the report the orchestration stored when it ended (a failed pipeline's holds
    /// the rounds that completed, which its status does not); otherwise (running, or cancelled: nothing was stored) it
    /// is rendered from the status as it stands, saying what is pending.
    /// </summary>
    /// <exception cref="InvalidOperationException">The host gave this API no report renderer.</exception>
    public async Task<ApiResult> GetReportAsync(string id, CancellationToken cancellationToken = default)
    {
        var renderer = reports ?? throw new InvalidOperationException(
            $"This host serves no reports: construct {nameof(PipelineApi)} with an {nameof(IPipelineReportRenderer)} (services.AddSoupReports()).");
        var result = await GetAsync(id, cancellationToken);
        if (result.Body is not PipelineStatusView view)
            return result;
        var stored = view.IsTerminal ? await ReadStoredReportAsync(id, cancellationToken) : null;
        return new ApiResult(200, new HtmlPage(stored ?? renderer.RenderHtml(view)));
    }

    /// <summary>
    /// <c>GET /api/pipelines?status=Running,Completed</c>: the pipelines (id, status, created, last updated, name), newest
    /// first, optionally only those in the listed statuses (names as in the status view, any case); 400 naming an unknown
    /// status.
    /// </summary>
    public async Task<ApiResult> ListAsync(string? statuses, CancellationToken cancellationToken = default)
    {
        var filter = new List<OrchestrationRuntimeStatus>();
        foreach (var name in (statuses ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryParseStatus(name, out var status))
                return ApiResult.Problem(400, "Unknown status", $"'{name}' is not a pipeline status; use one or more of {StatusNames}, separated by commas.");
            filter.Add(status);
        }

        // No inputs or outputs: a pipeline's name is in its custom status; only an instance that has not run yet (no
        // status) is read on its own, with its input (a spec hash and outline, small).
        var query = new OrchestrationQuery
        {
            Statuses = filter.Count == 0 ? null : filter,
            FetchInputsAndOutputs = false,
            PageSize = 100,
        };
        var pipelines = new List<PipelineSummary>();
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken))
        {
            if (instance.Name != TaskNames.Pipeline)
                continue;
            var name = ProgressName(instance.SerializedCustomStatus);
            if (name is null && string.IsNullOrEmpty(instance.SerializedCustomStatus))
                name = NameOf((await client.GetInstanceAsync(instance.InstanceId, getInputsAndOutputs: true, cancellationToken))?.SerializedInput);
            pipelines.Add(new PipelineSummary(
                instance.InstanceId, instance.RuntimeStatus.ToString(), instance.CreatedAt, instance.LastUpdatedAt, name));
        }

        return new ApiResult(200, new PipelineList([.. pipelines.OrderByDescending(p => p.CreatedAt).ThenBy(p => p.Id, StringComparer.Ordinal)]));
    }

    /// <summary>
    /// <c>POST /api/pipelines/{id}/cancel</c> (optional body <c>{"reason": "..."}</c>): 404 for an unknown id (or one that is not
    /// a pipeline's, such as a round's <c>{id}:round-01</c>), 409 when
    /// the pipeline already ended; else writes the cancellation marker, terminates the orchestration and answers 202.
    /// </summary>
    public async Task<ApiResult> CancelAsync(string id, string? body, Uri pipelinesUri, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipelinesUri);
        if (!TryReadReason(body, out var reason, out var problem))
            return ApiResult.Problem(400, "Invalid cancellation request", problem, id);

        var metadata = await client.GetInstanceAsync(id, cancellationToken);
        if (metadata is null || metadata.Name != TaskNames.Pipeline)
            return NotFound(id); // Only pipelines are addressable: cancelling a round would fail its parent and reach no job.
        if (metadata.IsCompleted)
        {
            return ApiResult.Problem(409, "Pipeline already ended",
                $"Pipeline '{id}' is {metadata.RuntimeStatus}; only a pipeline that has not ended can be cancelled.", id);
        }

        var marker = await new PipelineCanceller(client, storage).CancelAsync(id, reason, _clock.GetUtcNow(), cancellationToken);
        var statusUri = StatusUri(pipelinesUri, id);
        return new ApiResult(202, new PipelineCancelling(id, marker.Reason, marker.CancelledAt, CancellationMarker.BlobName(id), statusUri), statusUri);
    }

    /// <summary>The pipelines that have not ended (rounds and other instances are not counted).</summary>
    private async Task<int> CountRunningAsync(CancellationToken cancellationToken) =>
        (await PipelineStarter.RunningPipelinesAsync(client, cancellationToken)).Count;

    /// <summary>Reads a status name (any case) as a runtime status; only the statuses a pipeline can have are accepted.</summary>
    public static bool TryParseStatus(string name, out OrchestrationRuntimeStatus status)
    {
        status = PipelineStarter.EveryStatus.FirstOrDefault(s => string.Equals(s.ToString(), name, StringComparison.OrdinalIgnoreCase), (OrchestrationRuntimeStatus)(-1));
        return (int)status >= 0;
    }

    private static ApiResult Accepted(string id, Uri pipelinesUri, bool created)
    {
        var statusUri = StatusUri(pipelinesUri, id);
        return new ApiResult(202, new PipelineAccepted(id, statusUri, statusUri + "/cancel", created), statusUri);
    }

    private static ApiResult NotFound(string id) =>
        ApiResult.Problem(404, "No such pipeline", $"No pipeline with id '{id}' exists in this task hub.", id);

    private static string StatusUri(Uri pipelinesUri, string id) =>
        pipelinesUri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + Uri.EscapeDataString(id);

    private async Task<IdempotencyClaim?> ReadClaimAsync(string pipelineId, CancellationToken cancellationToken)
    {
        try
        {
            var content = await storage.Checkpoints.GetBlobClient(IdempotencyClaim.BlobName(pipelineId)).DownloadContentAsync(cancellationToken);
            return IdempotencyClaim.FromJson(content.Value.Content.ToMemory().Span);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    private async Task<string?> ReadStoredReportAsync(string pipelineId, CancellationToken cancellationToken)
    {
        try
        {
            var content = await storage.Reports.GetBlobClient(PipelineReports.BlobName(pipelineId)).DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToString();
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The spec's name in a pipeline's custom status (<see cref="PipelineProgress.Name"/>).</summary>
    private static string? ProgressName(string? serializedStatus)
    {
        if (string.IsNullOrEmpty(serializedStatus))
            return null;
        try
        {
            return JsonSerializer.Deserialize<PipelineProgress>(serializedStatus, Json)?.Name;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The spec's name in a pipeline's input: a <see cref="PipelineInput"/>'s outline, or a spec (instances started before specs were stored).</summary>
    private static string? NameOf(string? serializedInput)
    {
        if (string.IsNullOrEmpty(serializedInput))
            return null;
        try
        {
            var input = JsonSerializer.Deserialize<PipelineInput>(serializedInput, Json);
            return input?.Outline?.Name ?? JsonSerializer.Deserialize<PipelineSpec>(serializedInput, Json)?.Name;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryReadReason(string? body, out string reason, out string problem)
    {
        reason = "cancelled by request";
        problem = "";
        if (string.IsNullOrWhiteSpace(body))
            return true;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                problem = "The body must be a JSON object such as {\"reason\": \"...\"}, or empty.";
                return false;
            }

            if (document.RootElement.TryGetProperty("reason", out var given) && given.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(given.GetString()))
                reason = given.GetString()!.Trim();
            if (reason.Length > MaxReasonLength)
            {
                problem = $"The reason is longer than {MaxReasonLength} characters.";
                return false;
            }

            return true;
        }
        catch (JsonException ex)
        {
            problem = $"The body is not JSON: {ex.Message}";
            return false;
        }
    }
}
