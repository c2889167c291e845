using Soup.Core.Jobs;

namespace Soup.Core.Storage;

/// <summary>
/// The blob metadata a worker writes on every blob that completes a job (its checkpoint, evaluation report or failure
/// record): the job's id and its pipeline's spec hash. A landing counts only when the stamp names the job of the folder
/// it landed in and the pipeline's spec, so a blob that anyone else puts at the agreed path (a copy from another
/// pipeline or slot, a stale upload, a hand-written record) completes nothing. A consistency check, not authentication:
/// who may write to the container at all is the storage account's roles.
/// </summary>
public static class LandingStamp
{
    /// <summary>The metadata key of the job id (<c>x-ms-meta-soupjobid</c>).</summary>
    public const string JobIdKey = "soupjobid";

    /// <summary>The metadata key of the spec hash (<c>x-ms-meta-soupspechash</c>).</summary>
    public const string SpecHashKey = "soupspechash";

    /// <summary>The stamp of <paramref name="job"/>'s outputs.</summary>
    public static Dictionary<string, string> Of(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Of(job.JobId, job.SpecHash);
    }

    /// <summary>The stamp of the outputs of job <paramref name="jobId"/> (<c>{pipelineId}/{slot}</c>) of a pipeline of spec <paramref name="specHash"/>.</summary>
    public static Dictionary<string, string> Of(string jobId, string specHash) =>
        new(StringComparer.OrdinalIgnoreCase) { [JobIdKey] = jobId, [SpecHashKey] = specHash };

    /// <summary>
    /// Why <paramref name="landed"/> with <paramref name="metadata"/> completes nothing, or null when its stamp names its
    /// folder's job and (when the pipeline's hash is known) <paramref name="specHash"/>.
    /// </summary>
    public static string? Problem(LandedBlob landed, IDictionary<string, string>? metadata, string? specHash)
    {
        ArgumentNullException.ThrowIfNull(landed);
        var expected = $"{landed.PipelineId}/{landed.Slot}";
        var jobId = Value(metadata, JobIdKey);
        if (jobId is null)
            return $"it carries no job stamp (blob metadata '{JobIdKey}'): it was not written by a worker for job '{expected}'";
        if (jobId != expected)
            return $"its stamp names job '{Printable(jobId)}', not '{expected}', the job of the folder it landed in";
        var hash = Value(metadata, SpecHashKey);
        if (!string.IsNullOrEmpty(specHash) && hash != specHash)
            return $"its stamp names spec '{Printable(hash ?? "")}', not the pipeline's spec '{specHash}'";
        return null;
    }

    private static string? Value(IDictionary<string, string>? metadata, string key)
    {
        if (metadata is null)
            return null;
        foreach (var (name, value) in metadata)
        {
            if (string.Equals(name, key, StringComparison.OrdinalIgnoreCase))
                return value;
        }

        return null;
    }

    private static string Printable(string text) => new([.. text.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);
}
