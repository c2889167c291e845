using Azure.Storage.Blobs;

namespace Soup.Merging.Engine;

/// <summary>
/// One output file being written: bytes arrive in order (header, then tensor data), are staged out of sight, and
/// become visible only on <see cref="CommitAsync"/>. Disposing a sink that was not committed discards what it staged.
/// </summary>
/// <remarks>The engine calls a sink from one task at a time: <see cref="WriteAsync"/>* → <see cref="CompleteAsync"/> →
/// <see cref="CommitAsync"/> → <see cref="IAsyncDisposable.DisposeAsync"/>, stopping at any failure.</remarks>
public interface ICheckpointSink : IAsyncDisposable
{
    /// <summary>Where the file will appear, for messages (path, or container and blob name).</summary>
    string Name { get; }

    /// <summary>
    /// Appends <paramref name="data"/>. The caller may reuse the memory as soon as the returned task completes,
    /// so a sink that writes later must copy.
    /// </summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Finishes staging: flushes, uploads what is buffered, checks that the length announced on creation was
    /// written. Still invisible afterwards.
    /// </summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);

    /// <summary>Makes the file visible at its name in one step (rename, block-list commit), replacing any previous one.</summary>
    ValueTask CommitAsync(CancellationToken cancellationToken);
}

/// <summary>A place where output files are created by name: a folder, a blob prefix, memory.</summary>
public interface ICheckpointSinkFactory
{
    /// <summary>The full name a file would have, for messages and summaries.</summary>
    string Describe(string fileName);

    /// <summary>Starts a staged file of exactly <paramref name="length"/> bytes.</summary>
    ICheckpointSink Create(string fileName, long length);

    /// <summary>
    /// Removes a file committed by this merge, best effort; used when a later file of the same output failed to
    /// commit (sharded outputs), so that no partial set stays visible.
    /// </summary>
    ValueTask DeleteAsync(string fileName, CancellationToken cancellationToken);

    /// <summary>Called once after a failed merge, once every sink is disposed (e.g. removes a folder it created).</summary>
    ValueTask AbandonAsync();

    /// <summary>The most bytes one of its sinks buffers (the engine completes each file before starting the next);
    /// 0 (the default) for sinks that buffer nothing of their own.</summary>
    long BufferBytes => 0;
}

/// <summary>
/// Where and how a merge writes: a <see cref="ICheckpointSinkFactory"/>, the file name, and an optional shard size.
/// </summary>
/// <param name="Target">Where files are created.</param>
/// <param name="FileName">The checkpoint's file name (default <c>model.safetensors</c>); for a sharded output, the stem of
/// the shard names and of the index (<c>model-00001-of-00003.safetensors</c>, <c>model.safetensors.index.json</c>).</param>
/// <param name="ShardBytes">Null: one file. Otherwise the most tensor-data bytes per shard (a tensor larger than that
/// gets a shard of its own); when everything fits in one shard, one file named <paramref name="FileName"/> is written
/// and no index, as <c>transformers</c> does.</param>
public sealed record CheckpointOutput(ICheckpointSinkFactory Target, string FileName = ShardIndex.DefaultFileName, long? ShardBytes = null)
{
    /// <summary>One local file, written to a temporary file next to it and renamed into place.</summary>
    public static CheckpointOutput ToFile(string path, FileSinkOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        return new(new FileSinkFactory(Path.GetDirectoryName(full)!, options), Path.GetFileName(full));
    }

    /// <summary>A sharded checkpoint in <paramref name="folder"/> (created when missing), shards of at most
    /// <paramref name="shardBytes"/> data bytes.</summary>
    public static CheckpointOutput ToFolder(string folder, long shardBytes, string fileName = ShardIndex.DefaultFileName, FileSinkOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardBytes, 1);
        return new(new FileSinkFactory(folder, options), fileName, shardBytes);
    }

    /// <summary>One block blob, staged block by block and committed at the end.</summary>
    public static CheckpointOutput ToBlob(BlobContainerClient container, string blobName, BlockBlobSinkOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        var slash = blobName.LastIndexOf('/');
        return new(new BlockBlobSinkFactory(container, blobName[..(slash + 1)], options), blobName[(slash + 1)..]);
    }

    /// <summary>A sharded checkpoint under blob prefix <paramref name="prefix"/> (e.g. <c>run/soup/</c>).</summary>
    public static CheckpointOutput ToBlobPrefix(
        BlobContainerClient container, string prefix, long shardBytes, string fileName = ShardIndex.DefaultFileName, BlockBlobSinkOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardBytes, 1);
        return new(new BlockBlobSinkFactory(container, prefix, options), fileName, shardBytes);
    }
}
