using Azure;
using Azure.Storage.Blobs;

namespace Soup.Merging.Engine;

/// <summary>Opens a checkpoint by location, recognizing single files and sharded (index + shards) layouts.</summary>
public static class CheckpointSources
{
    /// <summary>
    /// Opens a local checkpoint: a <c>.safetensors</c> file; a <c>*.index.json</c> (sharded); or a folder holding
    /// <c>model.safetensors.index.json</c> (sharded, preferred) or <c>model.safetensors</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder holds neither.</exception>
    public static async Task<ICheckpointSource> OpenFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            var index = Path.Combine(path, ShardIndex.IndexFileName(ShardIndex.DefaultFileName));
            if (File.Exists(index))
            {
                return await ShardedSource.OpenFileAsync(index, cancellationToken);
            }

            var single = Path.Combine(path, ShardIndex.DefaultFileName);
            return File.Exists(single)
                ? LocalFileSource.Open(single)
                : throw new FileNotFoundException($"Folder '{path}' holds neither {ShardIndex.IndexFileName(ShardIndex.DefaultFileName)} nor {ShardIndex.DefaultFileName}.", single);
        }

        return path.EndsWith(".index.json", StringComparison.Ordinal)
            ? await ShardedSource.OpenFileAsync(path, cancellationToken)
            : LocalFileSource.Open(path);
    }

    /// <summary>
    /// Opens a checkpoint in blob storage: a safetensors blob; a <c>*.index.json</c> blob (sharded); or a prefix ending
    /// in <c>/</c> under which <c>model.safetensors.index.json</c> (preferred) or <c>model.safetensors</c> lies.
    /// </summary>
    public static async Task<ICheckpointSource> OpenBlobAsync(
        BlobContainerClient container, string blobName, BlobSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(blobName);
        if (blobName.Length == 0 || blobName.EndsWith('/'))
        {
            var index = blobName + ShardIndex.IndexFileName(ShardIndex.DefaultFileName);
            if (await container.GetBlobClient(index).ExistsAsync(cancellationToken))
            {
                return await ShardedSource.OpenBlobAsync(container, index, options, cancellationToken);
            }

            var single = container.GetBlobClient(blobName + ShardIndex.DefaultFileName);
            return await single.ExistsAsync(cancellationToken)
                ? await BlobSource.OpenAsync(single, options, cancellationToken)
                : throw new RequestFailedException(404,
                    $"Prefix '{container.Name}/{blobName}' holds neither {ShardIndex.IndexFileName(ShardIndex.DefaultFileName)} nor {ShardIndex.DefaultFileName}.");
        }

        return blobName.EndsWith(".index.json", StringComparison.Ordinal)
            ? await ShardedSource.OpenBlobAsync(container, blobName, options, cancellationToken)
            : await BlobSource.OpenAsync(container.GetBlobClient(blobName), options, cancellationToken);
    }
}
