using System.Globalization;
using Microsoft.DurableTask;

namespace Soup.Orchestration;

/// <summary>
/// One scheduled retraining run of a stored spec. Its instance id is fixed per spec blob
/// (<see cref="ScheduledRetrainer.InstanceId"/>) and it is started with dedupe, so at most one runs per spec; the pipeline
/// it runs (as a sub-orchestration) gets an id of its own per run, <c>{instanceId}-{utc time}-{random}</c>, because a
/// pipeline id is also its checkpoint folder and workers never overwrite a landed checkpoint.
/// </summary>
public sealed class ScheduledPipelineOrchestrator : TaskOrchestrator<ScheduledRun, ScheduledRunRecord>
{
    /// <inheritdoc />
    public override async Task<ScheduledRunRecord> RunAsync(TaskOrchestrationContext context, ScheduledRun input)
    {
        var run = input ?? throw new ArgumentNullException(nameof(input), "a scheduled run needs its spec as input");
        var suffix = context.NewGuid().ToString("N")[..6];
        var pipelineId = string.Create(CultureInfo.InvariantCulture, $"{context.InstanceId}-{context.CurrentUtcDateTime:yyyyMMdd-HHmmss}-{suffix}");
        var record = new ScheduledRunRecord(pipelineId, run.SpecBlob, run.SpecETag, run.SpecLastModified, run.DatasetVersion, null);
        context.SetCustomStatus(record);
        try
        {
            var result = await context.CallSubOrchestratorAsync<PipelineResult>(
                TaskNames.Pipeline,
                new PipelineInput(run.SpecHash ?? throw new ArgumentException("a scheduled run needs its stored spec's hash", nameof(input)), run.Spec)
                {
                    DataVersions = run.DataVersions,
                },
                new SubOrchestrationOptions { InstanceId = pipelineId });
            record = record with { FinalCheckpoint = result.FinalCheckpoint };
            context.SetCustomStatus(record);
            return record;
        }
        catch (TaskFailedException ex)
        {
            // A terminated (cancelled) child fails this call without failure details.
            throw new PipelineFailedException($"scheduled pipeline {pipelineId} (spec {run.SpecBlob}) failed: {ex.FailureDetails?.ErrorMessage ?? ex.Message}");
        }
    }
}
