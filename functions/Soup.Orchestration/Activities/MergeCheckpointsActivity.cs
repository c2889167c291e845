using Microsoft.DurableTask;
using Soup.Core.Merging;
using Soup.Core.Merging.Engine;
using Soup.Core.Storage;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Merges member checkpoints into the soup with the spec's method, streaming from the member blobs (ranged reads) into
/// a block blob whose blocks are committed only at the end: a failed merge leaves no soup blob.
/// </summary>
public sealed class MergeCheckpointsActivity(SoupStorage storage) : TaskActivity<MergeRequest, MergeOutcome>
{
    /// <inheritdoc />
    public override async Task<MergeOutcome> RunAsync(TaskActivityContext context, MergeRequest input)
    {
        var container = storage.Checkpoints.Name;
        var members = input.Members.Select(m => CheckpointLocation.Blob(container, m)).ToList();
        var @base = MergeMethodFactory.RequiresBase(input.Parameters.Method) ? CheckpointLocation.Blob(container, input.Base) : null;
        var summary = await new CheckpointMerger(storage.Container).MergeAsync(
            members,
            @base,
            CheckpointLocation.Blob(container, input.Output),
            input.Parameters,
            new MergeEngineOptions { Metadata = input.Metadata, NonFinite = NonFinitePolicy.Fail });
        return new MergeOutcome(input.Output, summary.TensorCount, summary.ParameterCount, summary.BytesWritten);
    }
}
