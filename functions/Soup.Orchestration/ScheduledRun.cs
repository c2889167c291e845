namespace Soup.Orchestration;

/// <summary>
/// A scheduled retraining run's input: the spec and which version of it (and of its data) the run used.
/// </summary>
/// <param name="SpecBlob">The spec's blob name in the specs container.</param>
/// <param name="SpecETag">The spec blob's ETag when it was read.</param>
/// <param name="SpecLastModified">The spec blob's last-modified time when it was read.</param>
/// <param name="DatasetVersion">A version of the dataset, when one could be read cheaply (null otherwise).</param>
/// <param name="Spec">The parsed, valid spec; once started, its outline (<see cref="SpecOutline"/>).</param>
/// <param name="SpecHash">The stored spec's hash (<see cref="ISpecStore"/>), set by <see cref="ScheduledRetrainer.StartAsync"/>.</param>
public sealed record ScheduledRun(
    string SpecBlob, string? SpecETag, DateTimeOffset? SpecLastModified, string? DatasetVersion, Soup.Core.Specs.PipelineSpec Spec, string? SpecHash = null)
{
    /// <summary>
    /// The fingerprint of each <c>blob:</c> dataset when the run was recorded (<see cref="DatasetVersion.ReadAsync"/>): the
    /// run's jobs read exactly these versions, or fail naming the change (null: not pinned).
    /// </summary>
    public IReadOnlyDictionary<string, string>? DataVersions { get; init; }
}

/// <summary>What a scheduled run records (its custom status while it runs, its output when done).</summary>
/// <param name="PipelineId">The pipeline it started (unique per run, so that runs never share a checkpoint folder).</param>
/// <param name="SpecBlob">The spec's blob name.</param>
/// <param name="SpecETag">The spec version used.</param>
/// <param name="SpecLastModified">The spec's last-modified time.</param>
/// <param name="DatasetVersion">The dataset version used, when known.</param>
/// <param name="FinalCheckpoint">The checkpoint the pipeline delivered (null while it runs).</param>
public sealed record ScheduledRunRecord(
    string PipelineId, string SpecBlob, string? SpecETag, DateTimeOffset? SpecLastModified, string? DatasetVersion, string? FinalCheckpoint);

/// <summary>The outcome of one scheduled start.</summary>
/// <param name="InstanceId">The spec's scheduled-run instance id.</param>
/// <param name="Started">True when a run started; false when one of this spec was still running (deduplicated), or it
/// could not start (<paramref name="Error"/>).</param>
/// <param name="SpecBlob">The spec blob.</param>
/// <param name="Error">Why this spec did not start (invalid, its dataset unreachable, a storage error); null when it
/// started or was deduplicated.</param>
public sealed record ScheduledStart(string InstanceId, bool Started, string? SpecBlob = null, string? Error = null);
