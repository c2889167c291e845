using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Soup.Merging.Engine;

/// <summary>How a <see cref="BlockBlobSink"/> uploads.</summary>
public sealed record BlockBlobSinkOptions
{
    /// <summary>
    /// The size of each staged block (the last one may be shorter). Raised automatically when the output would need
    /// more than 50,000 blocks, the service's limit.
    /// </summary>
    public int BlockBytes { get; init; } = 8 << 20;

    /// <summary>The most blocks being staged at once; memory is about (this + 1) × <see cref="BlockBytes"/>.</summary>
    public int MaxConcurrentUploads { get; init; } = 4;

    /// <summary>Replace an existing blob (default). When false the commit fails with 409/412 if the blob exists.</summary>
    public bool Overwrite { get; init; } = true;
}

/// <summary>Creates <see cref="BlockBlobSink"/>s under one container prefix.</summary>
public sealed class BlockBlobSinkFactory : ICheckpointSinkFactory
{
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly BlockBlobSinkOptions _options;

    /// <summary>Blobs are named <paramref name="prefix"/> + file name (e.g. <c>run/soup/</c> + <c>model.safetensors</c>).</summary>
    public BlockBlobSinkFactory(BlobContainerClient container, string prefix, BlockBlobSinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(prefix);
        _container = container;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        _options = options ?? new BlockBlobSinkOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.BlockBytes, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxConcurrentUploads, 1, nameof(options));
    }

    /// <inheritdoc />
    public string Describe(string fileName) => $"{_container.Name}/{_prefix}{fileName}";

    /// <summary>(<see cref="BlockBlobSinkOptions.MaxConcurrentUploads"/> + 1) × <see cref="BlockBlobSinkOptions.BlockBytes"/>
    /// (blocks grow beyond that size only for outputs over 50,000 blocks, 400 GB at 8 MiB).</summary>
    public long BufferBytes => (_options.MaxConcurrentUploads + 1) * (long)_options.BlockBytes;

    /// <inheritdoc />
    public ICheckpointSink Create(string fileName, long length) =>
        new BlockBlobSink(_container.GetBlockBlobClient(_prefix + fileName), length, _options);

    /// <inheritdoc />
    public async ValueTask DeleteAsync(string fileName, CancellationToken cancellationToken)
    {
        try
        {
            await _container.GetBlobClient(_prefix + fileName).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException)
        {
            // Best effort: the merge's own exception is the one worth reporting.
        }
    }

    /// <inheritdoc />
    public ValueTask AbandonAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// A block blob written by staging fixed-size blocks (several uploads in flight) and committing the block list only
/// on <see cref="CommitAsync"/>. Until then the blob does not exist (or keeps its previous content): a failed or
/// cancelled merge leaves only uncommitted blocks, which the service discards after a week or on the next commit.
/// </summary>
/// <remarks>Block ids are deterministic (<c>block-00000000</c>, … base64), so a retried merge restages the same ids;
/// two merges must not write the same blob at the same time.</remarks>
public sealed class BlockBlobSink : ICheckpointSink
{
    private const int MaxBlocks = 50_000;
    private const long MaxBlockBytes = 4000L << 20;

    private readonly BlockBlobClient _blob;
    private readonly long _length;
    private readonly BlockBlobSinkOptions _options;
    private readonly int _blockBytes;
    private readonly Stack<byte[]> _freeBuffers = new();
    private readonly Queue<(Task Upload, byte[] Buffer)> _uploads = new();
    private readonly List<string> _blockIds = [];
    private byte[]? _current;
    private int _filled;
    private long _position;

    /// <summary>Prepares to upload exactly <paramref name="length"/> bytes to <paramref name="blob"/>.</summary>
    public BlockBlobSink(BlockBlobClient blob, long length, BlockBlobSinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _blob = blob;
        _length = length;
        _options = options ?? new BlockBlobSinkOptions();
        var needed = (length + MaxBlocks - 1) / MaxBlocks;
        if (needed > MaxBlockBytes)
        {
            throw new NotSupportedException($"'{blob.Name}' would be {length} bytes, more than a block blob holds.");
        }

        // Never larger than the blob itself: a small output does not need a full-size buffer.
        _blockBytes = (int)Math.Max(1, Math.Min(Math.Max(_options.BlockBytes, needed), length));
        Name = $"{blob.BlobContainerName}/{blob.Name}";
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The size of the blocks staged.</summary>
    public int BlockBytes => _blockBytes;

    /// <inheritdoc />
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_position + data.Length > _length)
        {
            throw new InvalidOperationException($"'{Name}' was announced as {_length} bytes; writing past that.");
        }

        while (!data.IsEmpty)
        {
            _current ??= _freeBuffers.Count > 0 ? _freeBuffers.Pop() : GC.AllocateUninitializedArray<byte>(_blockBytes);
            var take = Math.Min(data.Length, _blockBytes - _filled);
            data.Span[..take].CopyTo(_current.AsSpan(_filled));
            _filled += take;
            _position += take;
            data = data[take..];
            if (_filled == _blockBytes)
            {
                await StageCurrentAsync(cancellationToken);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_position != _length)
        {
            throw new InvalidOperationException($"'{Name}' was announced as {_length} bytes, but {_position} were written.");
        }

        if (_filled > 0)
        {
            await StageCurrentAsync(cancellationToken);
        }

        while (_uploads.Count > 0)
        {
            await _uploads.Dequeue().Upload;
        }
    }

    /// <inheritdoc />
    public async ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        await _blob.CommitBlockListAsync(
            _blockIds,
            new CommitBlockListOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                Conditions = _options.Overwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All },
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Let uploads in flight finish (or fail) before their buffers go: nothing is committed here.
        while (_uploads.Count > 0)
        {
            try
            {
                await _uploads.Dequeue().Upload;
            }
            catch (Exception)
            {
                // Already failed or cancelled; the merge reports its own exception.
            }
        }
    }

    /// <summary>The id of block <paramref name="index"/>: base64 of <c>block-{index:D8}</c>, the same length for every block.</summary>
    public static string BlockId(int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"block-{index:D8}")));

    private async ValueTask StageCurrentAsync(CancellationToken cancellationToken)
    {
        while (_uploads.Count >= _options.MaxConcurrentUploads)
        {
            var (upload, buffer) = _uploads.Dequeue();
            await upload;
            _freeBuffers.Push(buffer);
        }

        var id = BlockId(_blockIds.Count);
        _blockIds.Add(id);
        var block = _current!;
        var content = new MemoryStream(block, 0, _filled, writable: false);
        _uploads.Enqueue((_blob.StageBlockAsync(id, content, new BlockBlobStageBlockOptions(), cancellationToken), block));
        _current = null;
        _filled = 0;
    }
}
