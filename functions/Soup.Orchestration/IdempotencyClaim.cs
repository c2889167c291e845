using System.Text.Json;

namespace Soup.Orchestration;

/// <summary>
/// The record of a keyed start, <c>{pipelineId}/idempotency.json</c> in the checkpoints container, created with
/// <c>If-None-Match: *</c> before the pipeline is started: the request that creates it is the one that starts the
/// pipeline. It is needed beside Durable's dedupe because the Functions host ignores the client's dedupe statuses and
/// lets a start replace an instance that has ended (its <c>overridableExistingInstanceStates</c> setting). It sits
/// directly under the pipeline's folder, outside every slot, so it completes no job.
/// </summary>
/// <param name="PipelineId">The pipeline the key names.</param>
/// <param name="SpecHash">The hash (<see cref="Soup.Core.Specs.SpecHash"/>) of the spec the key started.</param>
/// <param name="ClaimedAt">When the key was first used.</param>
public sealed record IdempotencyClaim(string PipelineId, string SpecHash, DateTimeOffset ClaimedAt)
{
    /// <summary>File name of the claim, directly under the pipeline's folder.</summary>
    public const string FileName = "idempotency.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The claim's blob name for <paramref name="pipelineId"/>.</summary>
    public static string BlobName(string pipelineId) => $"{pipelineId}/{FileName}";

    /// <summary>The claim as UTF-8 JSON.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Reads a claim written by <see cref="ToJson"/>; null when it is not one.</summary>
    public static IdempotencyClaim? FromJson(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<IdempotencyClaim>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
