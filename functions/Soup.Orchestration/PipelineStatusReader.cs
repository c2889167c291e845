using Soup.Core.Storage;
using Microsoft.DurableTask.Client;

namespace Soup.Orchestration;

/// <summary>
/// Reads a pipeline's status with live progress. While a round runs, the pipeline's custom status names the round's
/// instance and the counts (landed, failed, pending) live in that instance's status: this reads both and shows the
/// round's progress, keeping the pipeline's best-so-far. An ended pipeline's result is its stored one
/// (<see cref="PipelineReports.ResultBlobName"/>: every completed round in full, a failed pipeline's too) under the
/// engine's status (<see cref="Ended"/>); without it (its report step failed) the rounds are read from their stored
/// results (<see cref="RoundResults"/>).
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
        if (view.IsTerminal && await PipelineReports.ReadResultAsync(storage, pipelineId, cancellationToken) is { } stored)
        {
            view = Ended(stored, view);
            if (stored.Result is not null)
                return view; // its rounds are in full already
        }

        return await RoundResults.LoadAsync(storage, view, cancellationToken);
    }

    /// <summary>
    /// An ended pipeline's view: the one stored when it ended (<paramref name="stored"/>: its rounds in full, its pairs
    /// report, and whatever else the stored view holds) with only what the engine knows better laid over it from
    /// <paramref name="live"/>: the instance's id, runtime status, times, last progress and failure. A result the stored view lacks is
    /// the live one's.
    /// </summary>
    public static PipelineStatusView Ended(PipelineStatusView stored, PipelineStatusView live)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(live);
        return stored with
        {
            Id = live.Id,
            RuntimeStatus = live.RuntimeStatus,
            CreatedAt = live.CreatedAt,
            LastUpdatedAt = live.LastUpdatedAt,
            Progress = live.Progress ?? stored.Progress,
            Failure = live.Failure ?? stored.Failure,
            Result = stored.Result ?? live.Result,
        };
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
