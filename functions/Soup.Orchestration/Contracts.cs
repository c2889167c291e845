using Soup.Merging;
using Soup.Core.Storage;
using Soup.Core.Specs;
using Soup.Core.Jobs;

namespace Soup.Orchestration;

/// <summary>
/// The event payload that tells a pipeline one of its jobs' blobs landed, and optionally more of the same stage's
/// landings at once (the local watcher sends every landing it found in one listing as one event, up to
/// <see cref="MaxPerEvent"/>: one queue message and one history event for many jobs).
/// </summary>
/// <param name="Slot">The job's slot.</param>
/// <param name="Kind">Checkpoint, evaluation or failure.</param>
/// <param name="BlobName">The landed blob.</param>
/// <param name="Reason">For a failure, the worker's reason.</param>
/// <param name="More">Other landings of the same stage folder, each without <paramref name="More"/> of its own; null: none.</param>
public sealed record LandingNotice(string Slot, LandingKind Kind, string BlobName, string? Reason, IReadOnlyList<LandingNotice>? More = null)
{
    /// <summary>The most notices one event carries (about 150 bytes each: an event stays well under a queue message).</summary>
    public const int MaxPerEvent = 100;

    /// <summary>This notice and the ones it carries, each on its own.</summary>
    public IEnumerable<LandingNotice> All() => More is null ? [this] : [this with { More = null }, .. More];
}

/// <summary>
/// The merge activity's input: member blobs in, the soup blob out, the method and its parameters, the base (the round's
/// init, used by methods that work on task vectors) and metadata for the soup's header.
/// </summary>
public sealed record MergeRequest(
    IReadOnlyList<string> Members, string Output, MergeParameters Parameters, string Base, IReadOnlyDictionary<string, string> Metadata);

/// <summary>The merge activity's output.</summary>
public sealed record MergeOutcome(string Output, int Tensors, long Parameters, long Bytes);

/// <summary>
/// The reconcile activity's input: the pipeline and the slots still missing (their folders are listed), and whether a
/// deadline passed (else it is the look right after a stage's first dispatch). With <paramref name="HeartbeatWindow"/>,
/// slots whose heartbeat (<c>progress.json</c>) is younger than that are reported too, as <see cref="LandingKind.Alive"/>.
/// </summary>
public sealed record ReconcileRequest(string PipelineId, IReadOnlyList<string> Slots, bool AtDeadline = false, TimeSpan? HeartbeatWindow = null, string? SpecHash = null);

/// <summary>
/// The stop activity's input: tells workers to drop jobs that nobody awaits any more, by writing cancellation markers:
/// one for the whole pipeline when <paramref name="Slots"/> is null (it ended without success), else one per slot (a
/// stage went on without them).
/// </summary>
public sealed record StopJobsRequest(string PipelineId, IReadOnlyList<string>? Slots, string Reason);

/// <summary>
/// Progress, kept in custom status (small: it is limited to 16 KB). The pipeline's status names the running round's
/// instance (<see cref="RoundInstance"/>), whose own status holds the live counts; <see cref="PipelineStatusReader"/>
/// combines the two.
/// </summary>
/// <param name="Phase">pretraining, training, merging, evaluating, completed or failed.</param>
/// <param name="Round">The round (0: the init stage).</param>
/// <param name="Rounds">Rounds in the pipeline.</param>
/// <param name="Landed">Jobs of the current stage that landed.</param>
/// <param name="Failed">Jobs of the current stage that wrote a failure record.</param>
/// <param name="Pending">Jobs of the current stage still awaited.</param>
/// <param name="LastSoupAccuracy">The last round's soup accuracy on the primary split.</param>
/// <param name="Message">Why the pipeline failed, or what it waits for (cut to <see cref="MaxMessageChars"/>).</param>
/// <param name="RoundInstance">The instance id of the round running now, if any.</param>
/// <param name="Dispatch">Which dispatch of the stage's missing jobs is awaited (1: the first; more after retries).</param>
/// <param name="BestRound">The round whose soup scored best so far on the primary split.</param>
/// <param name="BestSoupAccuracy">That soup's accuracy.</param>
/// <param name="Name">The spec's name (the pipeline list shows it without reading the instance's input).</param>
public sealed record PipelineProgress(
    string Phase, int Round, int Rounds, int Landed, int Failed, int Pending, double? LastSoupAccuracy, string? Message,
    string? RoundInstance = null, int Dispatch = 1, int? BestRound = null, double? BestSoupAccuracy = null, string? Name = null)
{
    /// <summary>The longest message kept, so that a status naming hundreds of jobs stays far below 16 KB.</summary>
    public const int MaxMessageChars = 2000;

    /// <summary><paramref name="message"/> cut to <see cref="MaxMessageChars"/>.</summary>
    public static string? Cut(string? message) =>
        message is { Length: > MaxMessageChars } ? string.Concat(message.AsSpan(0, MaxMessageChars - 1), "…") : message;

    /// <summary>
    /// The progress in one line, the same wherever it is shown (the CLI's progress and status, the report), e.g.
    /// <c>training, round 2 of 3: 1 landed, 0 failed, 3 pending; last soup 84.10 %</c>, then the message if any.
    /// </summary>
    public string Describe()
    {
        var stage = Round == 0 ? "init" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"round {Round} of {Rounds}");
        var line = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Phase}, {stage}: {Landed} landed, {Failed} failed, {Pending} pending");
        if (LastSoupAccuracy is { } last)
            line += string.Create(System.Globalization.CultureInfo.InvariantCulture, $"; last soup {last:P2}");
        return Message is null ? line : $"{line} ({Message})";
    }
}

/// <summary>One member of a round, as reported.</summary>
/// <param name="Member">The member's index.</param>
/// <param name="LearningRate">Its learning rate.</param>
/// <param name="Seed">Its seed.</param>
/// <param name="Checkpoint">Its checkpoint blob.</param>
/// <param name="Accuracy">Its accuracy on the primary split.</param>
/// <param name="Loss">Its loss on the primary split.</param>
/// <param name="Scores">Its scores on every evaluated split (the primary split first); null in results of older runs.</param>
/// <param name="Settings">Every hyperparameter it trained with.</param>
/// <param name="Init">The checkpoint it started from, when members of the round start from different ones (Ratatouille).</param>
public sealed record MemberResult(
    int Member, double LearningRate, int Seed, string Checkpoint, double Accuracy, double Loss,
    IReadOnlyList<SplitAccuracy>? Scores = null, Soup.Core.Jobs.TrainSettings? Settings = null, string? Init = null);

/// <summary>A checkpoint's (or an ensemble's) accuracy and loss on one named split.</summary>
public sealed record SplitAccuracy(string Split, double Accuracy, double Loss);

/// <summary>What a split stands for, so reports can tell in-distribution from out-of-distribution scores.</summary>
/// <param name="Name">The split's name, as in the scores.</param>
/// <param name="Role"><see cref="SplitRoles.Validation"/>, <see cref="SplitRoles.Test"/> or <see cref="SplitRoles.Objective"/>.</param>
/// <param name="Description">The data behind it, in words (dataset, domains, part).</param>
public sealed record SplitInfo(string Name, string Role, string? Description = null);

/// <summary>
/// Another way to use a round's members, scored like the soup: the best single member (ERM), the uniform soup, the
/// greedy soup (members kept in order of validation accuracy while the soup does not get worse), the ensemble, ...
/// </summary>
/// <param name="Name">e.g. <c>erm</c>, <c>uniform</c>, <c>greedy</c>, <c>ensemble</c>.</param>
/// <param name="Checkpoint">Its checkpoint, if it is one model (an ensemble is not).</param>
/// <param name="Members">The members it uses.</param>
/// <param name="Scores">Its scores on every evaluated split.</param>
/// <param name="Description">How it was made, in words.</param>
/// <param name="TowardInit">
/// For a merge moved back toward the init (LITI: <c>soup.towardInit</c> and each η of <c>soup.towardInitSweep</c>),
/// its η; null for every other variant.
/// </param>
public sealed record SoupVariant(string Name, string? Checkpoint, IReadOnlyList<int> Members, IReadOnlyList<SplitAccuracy> Scores, string? Description = null, double? TowardInit = null)
{
    /// <summary>The name of the members' prediction ensemble (no checkpoint: one forward pass per member).</summary>
    public const string EnsembleName = "ensemble";
}

/// <summary>
/// Scores along the straight line between two checkpoints' weights, <c>(1 - λ)·From + λ·To</c>: the linear-connectivity
/// curve of two members, or the λ sweep of rewarded soups between two objectives' members.
/// </summary>
/// <param name="Kind"><c>members</c> or <c>rewards</c>.</param>
/// <param name="From">The checkpoint at λ = 0.</param>
/// <param name="To">The checkpoint at λ = 1.</param>
/// <param name="Points">λ ascending from 0 to 1, each with its scores on every evaluated split.</param>
/// <param name="Baselines">
/// A rewards sweep's MORL baselines (<c>soup.interpolation.morl</c>): at each λ, an RL fine-tuning on
/// (1 − λ)·R_from + λ·R_to instead of the weights' interpolation; null when none.
/// </param>
public sealed record InterpolationCurve(string Kind, string From, string To, IReadOnlyList<InterpolationPoint> Points, IReadOnlyList<InterpolationPoint>? Baselines = null);

/// <summary>One point of an <see cref="InterpolationCurve"/>: λ, its scores, and its checkpoint (null in older results).</summary>
public sealed record InterpolationPoint(double Lambda, IReadOnlyList<SplitAccuracy> Scores, string? Checkpoint = null);

/// <summary>One round, as reported: the members that landed (merged and scored), and those that did not.</summary>
/// <param name="Round">The round, 1-based.</param>
/// <param name="Init">The checkpoint the round started from (the base of its merge).</param>
/// <param name="Members">The members that landed.</param>
/// <param name="Soup">The round's soup (its output).</param>
/// <param name="SoupAccuracy">The soup's accuracy on the primary split.</param>
/// <param name="SoupLoss">Its loss there.</param>
/// <param name="Split">The primary split.</param>
/// <param name="Diagnostics">Diversity and connectivity on the primary split (and, in older results, the ensemble there).</param>
/// <param name="Missing">Members the round went on without.</param>
/// <param name="SoupScores">Older results only: the soup's scores, now its variant's (<see cref="DeliveredScores"/>).</param>
/// <param name="EnsembleScores">Older results only: the ensemble's scores, now its variant's (<see cref="EnsembleVariantScores"/>).</param>
/// <param name="Variants">Every way of using the members, each scored on every evaluated split: the delivered soup is
/// one of them (its checkpoint is <paramref name="Soup"/>), the members' prediction ensemble another (<c>ensemble</c>).
/// The one place a result keeps these scores; <paramref name="SoupAccuracy"/> and <paramref name="SoupLoss"/> are
/// the primary split's, which the orchestration decides on (history keeps no variants).</param>
/// <param name="Interpolation">A linear path between two checkpoints, scored along the way.</param>
/// <param name="Generation">Language models only (<c>evaluation.generation</c>): what each evaluated checkpoint generated, its mean gold rewards and KL to <paramref name="Init"/>.</param>
/// <param name="Details">
/// Set on the copies that travel through the orchestrations' histories: the blob (checkpoints container) that holds this
/// result in full, whose per-member lists (<paramref name="Members"/>, <paramref name="Missing"/>,
/// <paramref name="Variants"/>, <paramref name="Interpolation"/>, <paramref name="Generation"/>) are left out here (<see cref="RoundResults"/>).
/// </param>
public sealed record RoundResult(
    int Round, string Init, IReadOnlyList<MemberResult> Members, string Soup, double SoupAccuracy, double SoupLoss, string Split,
    RoundDiagnostics? Diagnostics = null, IReadOnlyList<MissingMember>? Missing = null,
    IReadOnlyList<SplitAccuracy>? SoupScores = null, IReadOnlyList<SplitAccuracy>? EnsembleScores = null,
    IReadOnlyList<SoupVariant>? Variants = null, InterpolationCurve? Interpolation = null, string? Details = null,
    IReadOnlyList<GenerationScore>? Generation = null)
{
    /// <summary>The delivered soup's scores on every split: its variant's (older results: <see cref="SoupScores"/>).</summary>
    public IReadOnlyList<SplitAccuracy>? DeliveredScores() =>
        SoupScores ?? Variants?.FirstOrDefault(v => v.Checkpoint == Soup)?.Scores;

    /// <summary>The members' prediction ensemble's scores on every split: the <c>ensemble</c> variant's (older results: <see cref="EnsembleScores"/>).</summary>
    public IReadOnlyList<SplitAccuracy>? EnsembleVariantScores() =>
        EnsembleScores ?? Variants?.FirstOrDefault(v => v.Name == SoupVariant.EnsembleName)?.Scores;
}

/// <summary>A member a round went on without (the quorum allowed it): its job and why.</summary>
/// <param name="Member">The member's index.</param>
/// <param name="JobId">The job's id (<c>{pipeline}/{slot}</c>).</param>
/// <param name="Reason">The worker's failure reason, or that it did not land in time.</param>
/// <param name="Dispatches">How many times the job was sent.</param>
public sealed record MissingMember(int Member, string JobId, string Reason, int Dispatches);

/// <summary>A round orchestration's input: its pipeline's spec, the round and where it starts from.</summary>
/// <param name="PipelineId">The pipeline (the folder of every checkpoint).</param>
/// <param name="Spec">The pipeline's spec.</param>
/// <param name="Round">The round, 1-based.</param>
/// <param name="Init">The checkpoint every member starts from (and the base of task-vector merges).</param>
/// <param name="LastSoupAccuracy">The previous round's soup accuracy, for progress.</param>
/// <param name="BestRound">The best round so far, for progress.</param>
/// <param name="BestSoupAccuracy">Its soup accuracy, for progress.</param>
/// <param name="Auxiliary">Round 1 of Model Ratatouille: each auxiliary fine-tuning's checkpoint, by name.</param>
/// <param name="SpecHash">The stored spec's hash (<see cref="ISpecStore"/>); <paramref name="Spec"/> is then its outline (<see cref="SpecOutline"/>).</param>
public sealed record RoundInput(
    string PipelineId, Soup.Core.Specs.PipelineSpec Spec, int Round, string Init, double? LastSoupAccuracy, int? BestRound, double? BestSoupAccuracy,
    IReadOnlyDictionary<string, string>? Auxiliary = null, string? SpecHash = null)
{
    /// <summary>The pipeline's pinned dataset versions (<see cref="PipelineInput.DataVersions"/>).</summary>
    public IReadOnlyDictionary<string, string>? DataVersions { get; init; }

    /// <summary>Round 1's init (what <c>generation.klTo: first-init</c> measures the KL to); null: <see cref="Init"/>.</summary>
    public string? FirstInit { get; init; }
}

/// <summary>
/// The pipeline orchestration's input: the stored spec's hash (<see cref="ISpecStore"/>, <c>specs/{hash}.json</c>) and its
/// outline (<see cref="SpecOutline"/>: the spec without its per-member lists). History holds this, never the spec.
/// </summary>
public sealed record PipelineInput(string SpecHash, Soup.Core.Specs.PipelineSpec Outline)
{
    /// <summary>The dataset versions every job must read (a scheduled run's, by dataset name); null: whatever is there.</summary>
    public IReadOnlyDictionary<string, string>? DataVersions { get; init; }
}

/// <summary>
/// The round-summary activity's input (<see cref="TaskNames.SummarizeRound"/>): what the round made, by name; the
/// activity reads the spec and the evaluation reports and returns the round's result.
/// </summary>
/// <param name="SpecHash">The stored spec.</param>
/// <param name="Round">The round's input (its spec is the outline).</param>
/// <param name="Landed">The members that landed, by index.</param>
/// <param name="Missing">The members the round went on without.</param>
/// <param name="Evaluations">The round's evaluation report blob (rounds before the greedy soup moved into the evaluation
/// job also listed each greedy candidate's report after it).</param>
/// <param name="Merged">The merge of all members (after LITI, if any).</param>
/// <param name="BeforeLiti">The merge before LITI, if any.</param>
/// <param name="Greedy">Null now: the greedy soup is in the evaluation report (<see cref="Soup.Core.Jobs.EvaluationReport.Greedy"/>). Set by rounds
/// that built it candidate by candidate, before that.</param>
/// <param name="GreedyMembers">With <paramref name="Greedy"/>: the members in it.</param>
/// <param name="Line">The interpolation line, if any.</param>
public sealed record SummarizeRequest(
    string SpecHash, RoundInput Round, IReadOnlyList<int> Landed, IReadOnlyList<MissingMember> Missing, IReadOnlyList<string> Evaluations,
    string Merged, string? BeforeLiti, string? Greedy, IReadOnlyList<int>? GreedyMembers, InterpolationLine? Line)
{
    /// <summary>The LITI models of <c>soup.towardInitSweep</c>, by η (null: none).</summary>
    public IReadOnlyList<LinePoint>? TowardInitSweep { get; init; }
}

/// <summary>An interpolation line's checkpoints by λ.</summary>
public sealed record InterpolationLine(string Kind, string From, string To, IReadOnlyList<LinePoint> Points, IReadOnlyList<LinePoint>? Baselines = null);

/// <summary>One checkpoint of an <see cref="InterpolationLine"/>.</summary>
public sealed record LinePoint(double Lambda, string Blob);

/// <summary>The checkpoint a pipeline delivers, and why that one.</summary>
/// <param name="Round">The round whose soup it is.</param>
/// <param name="Checkpoint">The soup's blob name.</param>
/// <param name="Accuracy">Its accuracy on the primary split.</param>
/// <param name="Split">The primary split.</param>
/// <param name="Reason">Why this soup, in words.</param>
public sealed record CheckpointChoice(int Round, string Checkpoint, double Accuracy, string Split, string Reason);

/// <summary>
/// The three conditions for weight averaging to work, measured on a round's primary split: the members' prediction
/// ensemble (what the soup approximates at one model's cost), their diversity, and the linear connectivity of a pair.
/// </summary>
public sealed record RoundDiagnostics(
    double? EnsembleAccuracy, double? EnsembleLoss, double? Disagreement, double? RatioError,
    int? PairA, int? PairB, double? MidpointAccuracy, double? EndpointMeanAccuracy, double? ConnectivityGap);

/// <summary>
/// The pipeline's output: every round, and the checkpoint it delivers (<see cref="FinalCheckpoint"/>, chosen as
/// <see cref="Choice"/> says).
/// </summary>
/// <param name="PipelineId">The pipeline.</param>
/// <param name="Rounds">Every round that ran.</param>
/// <param name="FinalCheckpoint">The delivered checkpoint.</param>
/// <param name="Choice">Why that one.</param>
/// <param name="Splits">What each evaluated split stands for (in- or out-of-distribution, an objective).</param>
/// <param name="Recipe">The recipe the spec names, if any (e.g. <c>diwa</c>, <c>ratatouille</c>).</param>
/// <param name="Stopped">Why the pipeline ran fewer rounds than its maximum, if it did (the stop rule's words).</param>
public sealed record PipelineResult(
    string PipelineId, IReadOnlyList<RoundResult> Rounds, string FinalCheckpoint, CheckpointChoice? Choice = null,
    IReadOnlyList<SplitInfo>? Splits = null, string? Recipe = null, string? Stopped = null);

/// <summary>Raised inside the orchestration when the pipeline cannot go on; its message is what the user sees.</summary>
public sealed class PipelineFailedException(string message) : Exception(message);
