using Azure.Storage.Blobs;
using Soup.Merging.Engine;

namespace Soup.Merging;

/// <summary>
/// Merges checkpoints named by <see cref="CheckpointLocation"/>s (local files or folders, blobs): opens the sources,
/// picks the output (single file or blob, or shards with an index), and runs the streaming engine. The one entry point
/// of the merge activity and of <c>pipeline merge</c>.
/// </summary>
/// <param name="containers">Gives the client of a container the app is configured for.</param>
public sealed class CheckpointMerger(Func<string, BlobContainerClient> containers)
{
    /// <summary>Merges <paramref name="members"/> (and <paramref name="base"/>) into <paramref name="output"/>.</summary>
    /// <param name="shardBytes">When set, the output is sharded (Hugging Face layout) into files of at most this size;
    /// <paramref name="output"/> is then a folder (or blob prefix).</param>
    public Task<MergeEngineSummary> MergeAsync(
        IReadOnlyList<CheckpointLocation> members,
        CheckpointLocation? @base,
        CheckpointLocation output,
        MergeParameters parameters,
        MergeEngineOptions? options = null,
        long? shardBytes = null,
        CancellationToken cancellationToken = default) =>
        MergeAsync(members, @base, output, MergeMethodFactory.Create(parameters), options, shardBytes, cancellationToken);

    /// <summary>Merges with a method already built (e.g. a <see cref="PerTensorMethod"/>).</summary>
    public async Task<MergeEngineSummary> MergeAsync(
        IReadOnlyList<CheckpointLocation> members,
        CheckpointLocation? @base,
        CheckpointLocation output,
        IMergeMethod method,
        MergeEngineOptions? options = null,
        long? shardBytes = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(method);
        method.Validate(members.Count, @base is not null);
        var sources = new ICheckpointSource?[members.Count];
        ICheckpointSource? baseSource = null;
        try
        {
            // Opening reads each member's header: a few at a time, as a merge of 1,024 blobs would otherwise wait for
            // 1,024 round trips one after the other.
            await Parallel.ForEachAsync(
                Enumerable.Range(0, members.Count),
                new ParallelOptions { MaxDegreeOfParallelism = ConcurrentOpens, CancellationToken = cancellationToken },
                async (i, ct) => sources[i] = await OpenAsync(members[i], ct));

            if (@base is not null)
            {
                baseSource = await OpenAsync(@base, cancellationToken);
            }

            return await MergeEngine.RunAsync(sources!, baseSource, Output(output, shardBytes), method, options, cancellationToken);
        }
        finally
        {
            foreach (var source in sources)
            {
                if (source is not null)
                    await source.DisposeAsync();
            }

            if (baseSource is not null)
            {
                await baseSource.DisposeAsync();
            }
        }
    }

    /// <summary>How many members are opened at once.</summary>
    public const int ConcurrentOpens = 16;

    private Task<ICheckpointSource> OpenAsync(CheckpointLocation location, CancellationToken cancellationToken) =>
        location.IsBlob
            ? CheckpointSources.OpenBlobAsync(containers(location.Container!), location.BlobName!, cancellationToken: cancellationToken)
            : CheckpointSources.OpenFileAsync(location.Path!, cancellationToken);

    private CheckpointOutput Output(CheckpointLocation output, long? shardBytes) => (output.IsBlob, shardBytes) switch
    {
        (true, null) => CheckpointOutput.ToBlob(containers(output.Container!), output.BlobName!),
        (true, { } bytes) => CheckpointOutput.ToBlobPrefix(containers(output.Container!), output.BlobName!.TrimEnd('/') + "/", bytes),
        (false, null) => CheckpointOutput.ToFile(output.Path!),
        (false, { } bytes) => CheckpointOutput.ToFolder(output.Path!, bytes),
    };
}
