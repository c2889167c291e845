using Soup.Core.Storage;
using Microsoft.DurableTask.Client;

namespace Soup.Orchestration;

/// <summary>
/// Reads a pipeline's status with live progress. While a round runs, the pipeline's custom status names the round's
/// instance and the counts (landed, failed, pending) live in that instance's status: this reads both and shows the
/// round's progress, keeping the pipeline's best-so-far. An ended pipeline's result is its stored one
/// (<see cref="PipelineReports.ResultBlobName"/>: every completed round in full, a failed pipeline's too); without it
/// (its report step failed) the rounds are read from their stored results (<see cref="RoundResults"/>).
/// </summary>
public static class PipelineStatusReader
{
    /// <summary>The pipeline's status view with the running round's progress; null when there is no such pipeline (also for an instance that is not a pipeline, e.g. <c>{id}:round-01</c>).</summary>
    public static async Task<PipelineStatusView?> ReadAsync(DurableTaskClient client, SoupStorage storage, string pipelineId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var view = await ReadSummaryAsync(client, pipelineId, cancellationToken);
        if (view is null)
            return null;
        if (view.IsTerminal && await PipelineReports.ReadResultAsync(storage, pipelineId, cancellationToken) is { Result: { } stored } ended)
            return view with { Result = stored, Pairs = ended.Pairs };
        return await RoundResults.LoadAsync(storage, view, cancellationToken);
    }

    /// <summary>
    /// The pipeline's status view with the running round's progress, its rounds' results as history keeps them
    /// (<see cref="RoundResults.Summary"/>: no per-member lists); null when there is no such pipeline.
    /// </summary>
    public static async Task<PipelineStatusView?> ReadSummaryAsync(DurableTaskClient client, string pipelineId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var metadata = await client.GetInstanceAsync(pipelineId, getInputsAndOutputs: true, cancellationToken);
        if (metadata is null || metadata.Name != TaskNames.Pipeline)
        {
            return null; // Rounds, scheduled runs and other internal instances are not pipelines: nobody reads them here.
        }

        var view = PipelineStatusView.From(metadata);
        if (view.IsTerminal || view.Progress is not { RoundInstance: { } instance } pipeline)
        {
            return view;
        }

        var round = await client.GetInstanceAsync(instance, getInputsAndOutputs: true, cancellationToken);
        var live = round is { RuntimeStatus: OrchestrationRuntimeStatus.Running } ? round.ReadCustomStatusAs<PipelineProgress>() : null;
        return live is null ? view : view with { Progress = live with { BestRound = pipeline.BestRound, BestSoupAccuracy = pipeline.BestSoupAccuracy, Name = pipeline.Name } };
    }
}
