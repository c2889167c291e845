namespace Soup.Orchestration;

/// <summary>The names orchestrations and activities are registered under, in every host.</summary>
public static class TaskNames
{
    /// <summary>The pipeline orchestration.</summary>
    public const string Pipeline = "Pipeline";

    /// <summary>One round of a pipeline, run as its sub-orchestration: fan out, fan in, merge, evaluate.</summary>
    public const string Round = "Round";

    /// <summary>A scheduled retraining run: starts the pipeline of one stored spec, at most one at a time per spec.</summary>
    public const string ScheduledPipeline = "ScheduledPipeline";

    /// <summary>Puts jobs on the jobs queue.</summary>
    public const string DispatchJobs = "DispatchJobs";

    /// <summary>Merges a round's member checkpoints into its soup.</summary>
    public const string MergeCheckpoints = "MergeCheckpoints";

    /// <summary>Reads a round's spec and evaluation reports and returns the round's result.</summary>
    public const string SummarizeRound = "SummarizeRound";

    /// <summary>Looks in the container for jobs whose landing was not notified.</summary>
    public const string ReconcileLandings = "ReconcileLandings";

    /// <summary>Tells workers to drop jobs nobody awaits any more (cancellation markers for a pipeline or its slots).</summary>
    public const string StopJobs = "StopJobs";

    /// <summary>Renders a pipeline's report and writes it to the reports container.</summary>
    public const string WriteReport = "WriteReport";
}
