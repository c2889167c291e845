using Microsoft.DurableTask;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>Reads the evaluation report a worker wrote.</summary>
public sealed class ReadEvaluationActivity(SoupStorage storage) : TaskActivity<string, EvaluationReport>
{
    /// <inheritdoc />
    public override Task<EvaluationReport> RunAsync(TaskActivityContext context, string input) =>
        storage.ReadJsonAsync(input, SoupJson.Default.EvaluationReport);
}
