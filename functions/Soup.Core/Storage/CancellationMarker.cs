using System.Text.Json;
using System.Text.Json.Serialization;

namespace Soup.Core.Storage;

/// <summary>
/// The record a cancelled pipeline leaves at <c>{pipelineId}/cancelled.json</c> in the checkpoints container: cancelled
/// by a user, or ended without success (failed), so that no GPU goes on working for it. Workers look for it before
/// they run a job of that pipeline (and while it runs) and drop the job without writing anything. It sits directly
/// under the pipeline's folder, outside every slot, so it completes no job.
/// </summary>
/// <param name="PipelineId">The cancelled pipeline.</param>
/// <param name="Reason">Why it was cancelled, as the caller gave it.</param>
/// <param name="CancelledAt">When the cancellation was requested (UTC).</param>
public sealed record CancellationMarker(string PipelineId, string Reason, DateTimeOffset CancelledAt)
{
    /// <summary>File name of the marker, directly under the pipeline's folder.</summary>
    public const string FileName = "cancelled.json";

    /// <summary>The marker's blob name for <paramref name="pipelineId"/>.</summary>
    public static string BlobName(string pipelineId) => $"{pipelineId}/{FileName}";

    /// <summary>
    /// The marker of one job (<c>{pipelineId}/{slot}/cancelled.json</c>): a stage that went on without that job (a quorum
    /// let it, or it gave up on a silent job) leaves it so a copy still queued or training is dropped. It completes
    /// nothing: only a checkpoint, an evaluation or a failure record does.
    /// </summary>
    public static string BlobName(string pipelineId, string slot) => $"{pipelineId}/{slot}/{FileName}";

    /// <summary>The marker as UTF-8 JSON.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, CancellationMarkerJson.Default.CancellationMarker);

    /// <summary>Reads a marker written by <see cref="ToJson"/>.</summary>
    public static CancellationMarker? FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, CancellationMarkerJson.Default.CancellationMarker);
}

/// <summary>Source-generated JSON of <see cref="CancellationMarker"/>.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(CancellationMarker))]
internal sealed partial class CancellationMarkerJson : JsonSerializerContext;
