using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Soup.Core;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Reads the evaluation report a worker wrote and returns what the orchestration decides on: each checkpoint's
/// validation accuracy (<see cref="EvaluationDigest"/>). The report stays in its blob; the round's result is built
/// from it by <see cref="SummarizeRoundActivity"/>.
/// </summary>
public sealed class ReadEvaluationActivity(SoupStorage storage, ILogger<ReadEvaluationActivity> logger) : StorageActivity<string, EvaluationDigest>(logger)
{
    /// <inheritdoc />
    protected override async Task<EvaluationDigest> RunCoreAsync(TaskActivityContext context, string input) =>
        RoundSummarizer.Digest(input, await storage.ReadJsonAsync(input, SoupJson.Default.EvaluationReport));
}
