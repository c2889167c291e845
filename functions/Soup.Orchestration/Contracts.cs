using Soup.Core.Merging;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>The event payload that tells a pipeline one of its jobs' blobs landed.</summary>
/// <param name="Slot">The job's slot.</param>
/// <param name="Kind">Checkpoint, evaluation or failure.</param>
/// <param name="BlobName">The landed blob.</param>
/// <param name="Reason">For a failure, the worker's reason.</param>
public sealed record LandingNotice(string Slot, LandingKind Kind, string BlobName, string? Reason);

/// <summary>
/// The merge activity's input: member blobs in, the soup blob out, the method and its parameters, the base (the round's
/// init, used by methods that work on task vectors) and metadata for the soup's header.
/// </summary>
public sealed record MergeRequest(
    IReadOnlyList<string> Members, string Output, MergeParameters Parameters, string Base, IReadOnlyDictionary<string, string> Metadata);

/// <summary>The merge activity's output.</summary>
public sealed record MergeOutcome(string Output, int Tensors, long Parameters, long Bytes);

/// <summary>The reconcile activity's input: the pipeline and the slots still missing.</summary>
public sealed record ReconcileRequest(string PipelineId, IReadOnlyList<string> Slots);

/// <summary>The pipeline's progress, kept in the orchestration's custom status (small: it is limited to 16 KB).</summary>
public sealed record PipelineProgress(
    string Phase, int Round, int Rounds, int Landed, int Failed, int Pending, double? LastSoupAccuracy, string? Message);

/// <summary>One member of a round, as reported.</summary>
public sealed record MemberResult(int Member, double LearningRate, int Seed, string Checkpoint, double Accuracy, double Loss);

/// <summary>One round, as reported.</summary>
public sealed record RoundResult(
    int Round, string Init, IReadOnlyList<MemberResult> Members, string Soup, double SoupAccuracy, double SoupLoss, string Split,
    RoundDiagnostics? Diagnostics = null);

/// <summary>
/// The three conditions for weight averaging to work, measured on a round's primary split: the members' prediction
/// ensemble (what the soup approximates at one model's cost), their diversity, and the linear connectivity of a pair.
/// </summary>
public sealed record RoundDiagnostics(
    double? EnsembleAccuracy, double? EnsembleLoss, double? Disagreement, double? RatioError,
    int? PairA, int? PairB, double? MidpointAccuracy, double? EndpointMeanAccuracy, double? ConnectivityGap);

/// <summary>The pipeline's output: every round, and the checkpoint it delivers (the last round's soup).</summary>
public sealed record PipelineResult(string PipelineId, IReadOnlyList<RoundResult> Rounds, string FinalCheckpoint);

/// <summary>Raised inside the orchestration when the pipeline cannot go on; its message is what the user sees.</summary>
public sealed class PipelineFailedException(string message) : Exception(message);
