using System.Globalization;
using Soup.Core.Jobs;

namespace Soup.Core.Storage;

/// <summary>
/// The agreed blob paths. Every job writes into its own folder <c>{pipelineId}/{slot}/</c>: a checkpoint
/// (<c>model.safetensors</c>), an evaluation (<c>results.json</c>) or, when it fails, <c>failed.json</c>.
/// A blob landing there is what completes the job: the writer tells nobody else.
/// </summary>
public static class CheckpointLayout
{
    /// <summary>File name of a checkpoint.</summary>
    public const string CheckpointFile = "model.safetensors";

    /// <summary>File name of an evaluation report.</summary>
    public const string EvaluationFile = "results.json";

    /// <summary>
    /// The blob a job's success writes, which completes it when it lands: an evaluation's or a pairs job's report, any
    /// other job's checkpoint. The one place that maps a job's kind to its output.
    /// </summary>
    public static string OutputBlob(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Blob(job.PipelineId, job.Slot, job is EvaluateJob or PairsJob ? EvaluationFile : CheckpointFile);
    }

    /// <summary>File name of a failure record.</summary>
    public const string FailureFile = "failed.json";

    /// <summary>File name of a training job's progress report (overwritten while it runs; completes nothing).</summary>
    public const string ProgressFile = "progress.json";

    /// <summary>File name of a training job's resumption checkpoint (overwritten periodically; completes nothing).</summary>
    public const string ResumeFile = "resume.safetensors";

    /// <summary>File name of a pairs job's sampling state (the pairs so far and where to go on; completes nothing).</summary>
    public const string SamplingStateFile = "resume.json";

    /// <summary>File name of a pairs job's stored draw, which its datasets are written from (completes nothing).</summary>
    public const string DrawFile = "draw.json";

    /// <summary>File name of a job too large for one queue message: the message is a <see cref="Jobs.JobReference"/> to it.</summary>
    public const string JobFile = "job.json";

    /// <summary>The slot of the pretraining job that makes the shared init.</summary>
    public const string InitSlot = "init";

    /// <summary>The slot of member <paramref name="member"/> (0-based) in round <paramref name="round"/> (1-based).</summary>
    public static string MemberSlot(int round, int member) =>
        string.Create(CultureInfo.InvariantCulture, $"{RoundFolder(round)}/member-{member:D3}");

    /// <summary>The slot of a round's MORL baseline <paramref name="k"/> (<c>soup.interpolation.morl[k]</c>).</summary>
    public static string MorlSlot(int round, int k) =>
        string.Create(CultureInfo.InvariantCulture, $"{RoundFolder(round)}/morl-{k:D3}");

    /// <summary>The slot of a round's soup.</summary>
    public static string SoupSlot(int round) => $"{RoundFolder(round)}/soup";

    /// <summary>The slot of a round's evaluation job.</summary>
    public static string EvaluationSlot(int round) => $"{RoundFolder(round)}/eval";

    /// <summary>
    /// The slot of another model a round merges (<paramref name="name"/>: e.g. <c>greedy</c>, <c>lerp-050</c>): a
    /// soup's slot, so its landing completes no job.
    /// </summary>
    public static string SoupSlot(int round, string name) => $"{RoundFolder(round)}/soup-{name}";

    /// <summary>
    /// The greedy soup an evaluation job builds (<see cref="Jobs.EvaluateJob.Greedy"/>): <c>soup-greedy</c> in the job's
    /// round folder, derived from the job itself so that a job can make its worker write nowhere else.
    /// </summary>
    public static string GreedySoupBlob(string pipelineId, string evaluationSlot)
    {
        ArgumentNullException.ThrowIfNull(evaluationSlot);
        var folder = evaluationSlot.LastIndexOf('/') is var cut and > 0 ? evaluationSlot[..cut] : evaluationSlot;
        return Blob(pipelineId, $"{folder}/soup-greedy", CheckpointFile);
    }

    /// <summary>The slot of one more evaluation job of a round (<paramref name="name"/>: e.g. <c>greedy-02</c>).</summary>
    public static string EvaluationSlot(int round, string name) => $"{RoundFolder(round)}/eval-{name}";

    /// <summary>Whether <paramref name="slot"/> holds a merge output (a soup), which completes no job.</summary>
    public static bool IsSoupSlot(string slot)
    {
        var leaf = slot[(slot.LastIndexOf('/') + 1)..];
        return leaf == "soup" || leaf.StartsWith("soup-", StringComparison.Ordinal);
    }

    /// <summary>The folder (under the pipeline) of round <paramref name="round"/>'s slots; round 0 is the init stage.</summary>
    public static string StageFolder(int round) => round == 0 ? InitSlot : RoundFolder(round);

    /// <summary>The blob name of a file in a slot.</summary>
    public static string Blob(string pipelineId, string slot, string file) => $"{pipelineId}/{slot}/{file}";

    /// <summary>
    /// Reads a landed blob's name back into its pipeline, slot and kind; null for blobs that complete nothing
    /// (soups, temporary files, anything outside the layout).
    /// </summary>
    public static LandedBlob? Parse(string blobName)
    {
        var first = blobName.IndexOf('/', StringComparison.Ordinal);
        var last = blobName.LastIndexOf('/');
        if (first <= 0 || last <= first)
        {
            return null;
        }

        var kind = blobName[(last + 1)..] switch
        {
            CheckpointFile => LandingKind.Checkpoint,
            EvaluationFile => LandingKind.Evaluation,
            FailureFile => LandingKind.Failure,
            _ => (LandingKind?)null,
        };
        var slot = blobName[(first + 1)..last];
        if (kind is null || IsSoupSlot(slot))
        {
            return null;
        }

        return new LandedBlob(blobName[..first], slot, kind.Value, blobName);
    }

    private static string RoundFolder(int round) => string.Create(CultureInfo.InvariantCulture, $"round-{round:D2}");
}

/// <summary>What a landed blob means: which pipeline's which job finished, and how.</summary>
public sealed record LandedBlob(string PipelineId, string Slot, LandingKind Kind, string BlobName);

/// <summary>The kinds of blob that complete a job.</summary>
public enum LandingKind
{
    /// <summary>A trained checkpoint.</summary>
    Checkpoint,

    /// <summary>An evaluation report.</summary>
    Evaluation,

    /// <summary>A failure record: the job failed for good.</summary>
    Failure,

    /// <summary>
    /// Not a landing: the job's heartbeat (<c>progress.json</c>) is fresh, so it is running, or was handed back moments
    /// ago. Only the orchestration's look at a stage's folder reports it; it completes nothing.
    /// </summary>
    Alive,
}
