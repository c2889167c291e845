using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Soup.Core;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Builds a round's result (<see cref="RoundSummarizer"/>) from the stored spec and the round's evaluation reports,
/// read from their blobs, stores it in full (<see cref="RoundResults"/>) and returns its summary, which is what history
/// keeps. The same request gives the same result: safe to repeat.
/// </summary>
public sealed class SummarizeRoundActivity(SoupStorage storage, ILogger<SummarizeRoundActivity> logger) : StorageActivity<SummarizeRequest, RoundResult>(logger)
{
    /// <inheritdoc />
    protected override async Task<RoundResult> RunCoreAsync(TaskActivityContext context, SummarizeRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var spec = await new BlobSpecStore(storage).GetAsync(input.SpecHash);
        var reports = new List<Soup.Core.Jobs.EvaluationReport>();
        foreach (var blob in input.Evaluations)
            reports.Add(await storage.ReadJsonAsync(blob, SoupJson.Default.EvaluationReport));
        return await RoundResults.StoreAsync(storage, input.Round.PipelineId, RoundSummarizer.Summarize(spec, input, reports));
    }
}
