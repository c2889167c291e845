using Azure.Storage.Blobs;
using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>
/// A sharded checkpoint in the Hugging Face layout: <c>model.safetensors.index.json</c> (a weight map from tensor
/// names to shard files) next to <c>model-00001-of-0000n.safetensors</c> …, in a folder or under a blob prefix.
/// It reads as one checkpoint whose tensors are the shards' tensors, shard after shard (shards in file-name order,
/// each in its data order).
/// </summary>
/// <remarks>
/// The index and the shards must agree exactly: every tensor of the weight map is in the shard it names, and every
/// tensor of a shard is in the weight map under that shard. <see cref="Metadata"/> is the first shard's
/// <c>__metadata__</c>; the index's own <c>metadata</c> (e.g. <c>total_size</c>) is not checked.
/// </remarks>
public sealed class ShardedSource : ICheckpointSource
{
    private readonly ICheckpointSource[] _shards;
    private readonly (int Shard, int Index)[] _locations;

    private ShardedSource(string name, ICheckpointSource[] shards, IReadOnlyList<TensorInfo> tensors, (int, int)[] locations)
    {
        Name = name;
        _shards = shards;
        Tensors = tensors;
        _locations = locations;
        Metadata = shards.Length > 0 ? shards[0].Metadata : new Dictionary<string, string>();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The shards, in file-name order.</summary>
    public IReadOnlyList<ICheckpointSource> Shards => _shards;

    /// <summary>Opens a sharded checkpoint from its local index file; the shards sit in the same folder.</summary>
    /// <exception cref="InvalidDataException">The index is malformed or disagrees with the shards.</exception>
    /// <exception cref="SafetensorsFormatException">A shard is malformed.</exception>
    public static async Task<ShardedSource> OpenFileAsync(string indexPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(indexPath);
        var json = await File.ReadAllBytesAsync(indexPath, cancellationToken);
        var folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        return await OpenAsync(indexPath, json, (file, _) => Task.FromResult<ICheckpointSource>(LocalFileSource.Open(Path.Combine(folder, file))), cancellationToken);
    }

    /// <summary>Opens a sharded checkpoint from its index blob; the shards are blobs under the same prefix.</summary>
    /// <exception cref="InvalidDataException">The index is malformed or disagrees with the shards.</exception>
    /// <exception cref="SafetensorsFormatException">A shard is malformed.</exception>
    public static async Task<ShardedSource> OpenBlobAsync(
        BlobContainerClient container, string indexBlobName, BlobSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentException.ThrowIfNullOrEmpty(indexBlobName);
        var content = await container.GetBlobClient(indexBlobName).DownloadContentAsync(cancellationToken);
        var prefix = indexBlobName[..(indexBlobName.LastIndexOf('/') + 1)];
        return await OpenAsync(
            $"{container.Name}/{indexBlobName}",
            content.Value.Content.ToMemory(),
            async (file, ct) => await BlobSource.OpenAsync(container.GetBlobClient(prefix + file), options, ct),
            cancellationToken);
    }

    /// <summary>Opens a sharded checkpoint from an index already read and a way to open each shard by file name.</summary>
    /// <param name="name">The index's name, for messages.</param>
    /// <param name="indexJson">The index's bytes.</param>
    /// <param name="openShard">Opens the shard of that file name; called once per distinct shard, in file-name order.</param>
    /// <param name="cancellationToken">Checked between shards.</param>
    public static async Task<ShardedSource> OpenAsync(
        string name,
        ReadOnlyMemory<byte> indexJson,
        Func<string, CancellationToken, Task<ICheckpointSource>> openShard,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(openShard);
        var weightMap = ShardIndex.ReadWeightMap(indexJson, name);
        var files = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var shards = new List<ICheckpointSource>(files.Length);
        try
        {
            foreach (var file in files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                shards.Add(await openShard(file, cancellationToken));
            }

            var tensors = new List<TensorInfo>(weightMap.Count);
            var locations = new List<(int, int)>(weightMap.Count);
            for (var s = 0; s < shards.Count; s++)
            {
                var shardTensors = shards[s].Tensors;
                for (var i = 0; i < shardTensors.Count; i++)
                {
                    var tensor = shardTensors[i];
                    if (!weightMap.TryGetValue(tensor.Name, out var mapped) || mapped != files[s])
                    {
                        var where = mapped is null ? "the index does not list it" : $"the index maps it to '{mapped}'";
                        throw new InvalidDataException($"Invalid sharded checkpoint '{name}': tensor '{tensor.Name}' is in shard '{files[s]}', but {where}.");
                    }

                    tensors.Add(tensor);
                    locations.Add((s, i));
                }
            }

            if (tensors.Count != weightMap.Count)
            {
                var found = tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
                var missing = weightMap.First(e => !found.Contains(e.Key));
                throw new InvalidDataException($"Invalid sharded checkpoint '{name}': the index maps tensor '{missing.Key}' to '{missing.Value}', which does not hold it.");
            }

            return new ShardedSource(name, [.. shards], tensors, [.. locations]);
        }
        catch
        {
            foreach (var shard in shards)
            {
                await shard.DisposeAsync();
            }

            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask ReadAsync(int tensorIndex, long byteOffset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var (shard, index) = _locations[tensorIndex];
        return _shards[shard].ReadAsync(index, byteOffset, destination, cancellationToken);
    }

    /// <inheritdoc />
    public long BufferBytes => _shards.Sum(s => s.BufferBytes);

    /// <summary>Splits <paramref name="maxBytes"/> equally between the shards (each keeps its buffers while the merge
    /// reads the next ones).</summary>
    /// <inheritdoc />
    public long LimitBuffers(long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        return _shards.Length == 0 ? 0 : _shards.Sum(s => s.LimitBuffers(maxBytes / _shards.Length));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var shard in _shards)
        {
            await shard.DisposeAsync();
        }
    }
}
