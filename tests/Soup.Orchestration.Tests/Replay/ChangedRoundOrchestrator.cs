using Microsoft.DurableTask;
using Soup.Core.Specs;

namespace Soup.Orchestration.Tests.Replay;

/// <summary>
/// A deliberately breaking change of <see cref="RoundOrchestrator"/>, for the replay tests only: it looks in the
/// container before dispatching the jobs, so its first durable call differs from the one every recorded round made.
/// </summary>
internal sealed class ChangedRoundOrchestrator : TaskOrchestrator<RoundInput, RoundResult>
{
    public override async Task<RoundResult> RunAsync(TaskOrchestrationContext context, RoundInput input)
    {
        await context.CallActivityAsync<IReadOnlyList<LandingNotice>>(TaskNames.ReconcileLandings, new ReconcileRequest(input.PipelineId, []));
        await context.CallActivityAsync<int>(TaskNames.DispatchJobs, new DispatchRequest(input.SpecHash ?? "", input.PipelineId, JobStages.Members, input.Round, input.Init));
        throw new PipelineFailedException("the replay tests never get this far");
    }
}
