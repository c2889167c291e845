using Soup.Core.Jobs;

namespace Soup.Core.Specs;

/// <summary>Raised by <see cref="JobPlanner"/> when a stage cannot be planned; the pipeline fails with its message.</summary>
public sealed class PlanningException(string message) : Exception(message);

/// <summary>The stages whose jobs the dispatch activity plans (<see cref="DispatchRequest.Stage"/>).</summary>
public static class JobStages
{
    /// <summary>The pretraining job (slot <c>init</c>).</summary>
    public const string Pretrain = "pretrain";

    /// <summary>The linear probe (slot <c>init/probe</c>).</summary>
    public const string Probe = "probe";

    /// <summary>The pairs job that makes the pipeline's preference pairs (slot <c>init/pairs</c>).</summary>
    public const string Pairs = "pairs";

    /// <summary>The auxiliary fine-tunings of Model Ratatouille.</summary>
    public const string Auxiliary = "auxiliary";

    /// <summary>A round's members.</summary>
    public const string Members = "members";

    /// <summary>An evaluation job (<see cref="DispatchRequest.Evaluation"/>).</summary>
    public const string Evaluation = "evaluation";
}

/// <summary>
/// The dispatch activity's input: which stage's jobs to send, by reference. The activity reads the spec by
/// <paramref name="SpecHash"/> and plans the jobs itself (<see cref="JobPlanner.Plan"/>), so history holds this request,
/// not the jobs.
/// </summary>
/// <param name="SpecHash">The stored spec.</param>
/// <param name="PipelineId">The pipeline.</param>
/// <param name="Stage">One of <see cref="JobStages"/>.</param>
/// <param name="Round">The round (0: the init stages).</param>
/// <param name="Init">The checkpoint the jobs start from (probe, auxiliary, members).</param>
/// <param name="Auxiliary">Round 1 of Model Ratatouille: each auxiliary fine-tuning's checkpoint, by name.</param>
/// <param name="Slots">The slots to send (a re-dispatch); null: every job of the stage.</param>
/// <param name="HeartbeatTimeout">The stage's silence bound, carried by each job.</param>
/// <param name="Evaluation">For an evaluation: what it scores.</param>
public sealed record DispatchRequest(
    string SpecHash, string PipelineId, string Stage, int Round, string? Init = null, IReadOnlyDictionary<string, string>? Auxiliary = null,
    IReadOnlyList<string>? Slots = null, TimeSpan? HeartbeatTimeout = null, EvaluationPlan? Evaluation = null)
{
    /// <summary>The dataset versions the planned jobs must read (the pipeline's pinned versions); null: none pinned.</summary>
    public IReadOnlyDictionary<string, string>? DataVersions { get; init; }
}

/// <summary>What an evaluation job scores.</summary>
/// <param name="Checkpoints">The checkpoints, members first.</param>
/// <param name="Members">How many of the first are members (their ensemble and pair are scored).</param>
/// <param name="Name">A name for one more evaluation of the round (slot <c>round-RR/eval-{name}</c>); null: the round's.</param>
/// <param name="Greedy">The greedy soup the job builds from the members (null: none).</param>
public sealed record EvaluationPlan(IReadOnlyList<string> Checkpoints, int Members, string? Name = null, GreedySoupPlan? Greedy = null)
{
    /// <summary>What the generation evaluation's KL is measured to, when not the stage's init (<c>generation.klTo: first-init</c>).</summary>
    public string? Reference { get; init; }
}
