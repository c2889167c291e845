using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Orchestration;
using Soup.Orchestration.Activities;

namespace Soup.Functions;

/// <summary>
/// Thin Functions shells over the shared orchestration and activities (Soup.Orchestration): the very code the local
/// engine registers, bound here to Durable Functions triggers.
/// </summary>
public sealed class PipelineTaskFunctions(
    DispatchJobsActivity dispatch,
    MergeCheckpointsActivity merge,
    SummarizeRoundActivity summarize,
    ReconcileLandingsActivity reconcile,
    WriteReportActivity writeReport,
    StopJobsActivity stopJobs)
{
    /// <summary>The pipeline orchestration.</summary>
    [Function(TaskNames.Pipeline)]
    public static Task<PipelineResult> Pipeline([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new PipelineOrchestrator().RunAsync(context, context.GetInput<PipelineInput>()!);

    /// <summary>One round of a pipeline (its sub-orchestration).</summary>
    [Function(TaskNames.Round)]
    public static Task<RoundResult> Round([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new RoundOrchestrator().RunAsync(context, context.GetInput<RoundInput>()!);

    /// <summary>A scheduled retraining run of one stored spec.</summary>
    [Function(TaskNames.ScheduledPipeline)]
    public static Task<ScheduledRunRecord> ScheduledPipeline([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new ScheduledPipelineOrchestrator().RunAsync(context, context.GetInput<ScheduledRun>()!);

    /// <summary>Plans a stage's jobs from the stored spec and puts them on the jobs queue.</summary>
    [Function(TaskNames.DispatchJobs)]
    public Task<int> DispatchJobs([ActivityTrigger] DispatchRequest request, FunctionContext context) =>
        dispatch.RunAsync(new FunctionActivityContext(TaskNames.DispatchJobs, context), request);

    /// <summary>Merges a round's members into its soup.</summary>
    [Function(TaskNames.MergeCheckpoints)]
    public Task<MergeOutcome> MergeCheckpoints([ActivityTrigger] MergeRequest request, FunctionContext context) =>
        merge.RunAsync(new FunctionActivityContext(TaskNames.MergeCheckpoints, context), request);

    /// <summary>Builds a round's result from the stored spec and its evaluation reports.</summary>
    [Function(TaskNames.SummarizeRound)]
    public Task<RoundResult> SummarizeRound([ActivityTrigger] SummarizeRequest request, FunctionContext context) =>
        summarize.RunAsync(new FunctionActivityContext(TaskNames.SummarizeRound, context), request);

    /// <summary>Finds landings whose notification was lost.</summary>
    [Function(TaskNames.ReconcileLandings)]
    public Task<IReadOnlyList<LandingNotice>> ReconcileLandings([ActivityTrigger] ReconcileRequest request, FunctionContext context) =>
        reconcile.RunAsync(new FunctionActivityContext(TaskNames.ReconcileLandings, context), request);

    /// <summary>Tells workers to drop jobs nobody awaits any more.</summary>
    [Function(TaskNames.StopJobs)]
    public Task<int> StopJobs([ActivityTrigger] StopJobsRequest request, FunctionContext context) =>
        stopJobs.RunAsync(new FunctionActivityContext(TaskNames.StopJobs, context), request);

    /// <summary>Renders a pipeline's report and writes it to the reports container.</summary>
    [Function(TaskNames.WriteReport)]
    public Task<string> WriteReport([ActivityTrigger] PipelineStatusView view, FunctionContext context) =>
        writeReport.RunAsync(new FunctionActivityContext(TaskNames.WriteReport, context), view);
}
