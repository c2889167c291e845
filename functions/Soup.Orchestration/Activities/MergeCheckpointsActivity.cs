using Microsoft.Extensions.Logging;
using Microsoft.DurableTask;
using Microsoft.Extensions.Options;
using Soup.Merging;
using Soup.Merging.Engine;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Merges member checkpoints into the soup with the spec's method, streaming from the member blobs (ranged reads) into
/// a block blob whose blocks are committed only at the end: a failed merge leaves no soup blob. Its buffers stay within <see cref="MergeOptions.MergeMemoryBudgetMiB"/>.
/// </summary>
public sealed class MergeCheckpointsActivity(SoupStorage storage, IOptions<MergeOptions> options, ILogger<MergeCheckpointsActivity> logger) : StorageActivity<MergeRequest, MergeOutcome>(logger)
{
    /// <inheritdoc />
    protected override async Task<MergeOutcome> RunCoreAsync(TaskActivityContext context, MergeRequest input)
    {
        var container = storage.Checkpoints.Name;
        var members = input.Members.Select(m => CheckpointLocation.Blob(container, m)).ToList();
        var @base = MergeMethodFactory.UsesBase(input.Parameters.Method) ? CheckpointLocation.Blob(container, input.Base) : null;
        var budget = options.Value;
        MergeEngineSummary summary;
        try
        {
            summary = await new CheckpointMerger(storage.Container).MergeAsync(
                members,
                @base,
                CheckpointLocation.Blob(container, input.Output),
                input.Parameters,
                new MergeEngineOptions { Metadata = input.Metadata, NonFinite = NonFinitePolicy.Fail, MemoryBudgetBytes = budget.MemoryBudgetBytes });
        }
        catch (MergeBudgetException ex)
        {
            throw new PipelineFailedException(
                $"merging {members.Count} member(s) into {input.Output} needs more memory than {nameof(MergeOptions.MergeMemoryBudgetMiB)} = {budget.MergeMemoryBudgetMiB} allows: {ex.Message}");
        }

        return new MergeOutcome(input.Output, summary.TensorCount, summary.ParameterCount, summary.BytesWritten);
    }
}
