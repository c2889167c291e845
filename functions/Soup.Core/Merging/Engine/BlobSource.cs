using System.Buffers;
using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Soup.Core.Checkpoints;

namespace Soup.Core.Merging.Engine;

/// <summary>How a <see cref="BlobSource"/> reads.</summary>
public sealed record BlobSourceOptions
{
    /// <summary>
    /// The size of read-ahead windows (default 8 MiB). Reads shorter than this are served from windows fetched with one
    /// ranged request each, and the next <see cref="ReadAheadWindows"/> windows are fetched ahead: the engine's small
    /// chunks and small tensors then cost few requests. Longer reads go straight to ranged requests of this size, in
    /// parallel.
    /// </summary>
    public int RangeBytes { get; init; } = 8 << 20;

    /// <summary>
    /// Windows fetched ahead of the one being read (default 2; 0 turns read-ahead off, every read is then its own
    /// ranged requests). Memory per source is about (this + 1) × <see cref="RangeBytes"/> (24 MiB by default), more
    /// while more reads than that are in flight at once.
    /// </summary>
    public int ReadAheadWindows { get; init; } = 2;

    /// <summary>The most ranged requests one source has in flight at once (default 8).</summary>
    public int MaxConcurrentRequests { get; init; } = 8;
}

/// <summary>
/// A safetensors blob read with ranged GETs: 8 bytes for the header length, then the header, then tensor data in
/// read-ahead windows (small reads) or ranges fetched in parallel (large reads); see <see cref="BlobSourceOptions"/>.
/// Every read after the first is conditional on the blob's ETag, so a blob replaced during a merge fails the merge
/// instead of mixing two versions.
/// </summary>
public sealed class BlobSource : ICheckpointSource
{
    private const int CopyBufferBytes = 256 << 10;

    private readonly BlobClient _blob;
    private readonly ETag _etag;
    private readonly long _dataStart;
    private readonly BlobSourceOptions _options;
    private readonly SemaphoreSlim _requests;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Window> _windows = [];
    private readonly Stack<byte[]> _freeWindowBuffers = new();
    private long _useClock;

    private BlobSource(BlobClient blob, ETag etag, long dataStart, SafetensorsHeader header, BlobSourceOptions options)
    {
        _blob = blob;
        _etag = etag;
        _dataStart = dataStart;
        _options = options;
        _requests = new SemaphoreSlim(options.MaxConcurrentRequests);
        Name = NameOf(blob);
        Tensors = header.Tensors;
        Metadata = header.Metadata;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The blob's length in bytes when it was opened.</summary>
    public long Length { get; private init; }

    /// <summary>Reads and validates the blob's header with two ranged reads.</summary>
    /// <exception cref="SafetensorsFormatException">The blob breaks a rule of the format (truncated included).</exception>
    /// <exception cref="RequestFailedException">The blob does not exist or cannot be read.</exception>
    public static async Task<BlobSource> OpenAsync(BlobClient blob, BlobSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blob);
        options ??= new BlobSourceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RangeBytes, 4096, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentRequests, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.ReadAheadWindows, nameof(options));
        var name = NameOf(blob);
        var prefixSize = SafetensorsHeaderReader.LengthPrefixSize;

        var prefix = new byte[prefixSize];
        long totalLength;
        ETag etag;
        int prefixRead;
        try
        {
            var response = await blob.DownloadStreamingAsync(
                new BlobDownloadOptions { Range = new HttpRange(0, prefixSize) }, cancellationToken);
            using var result = response.Value;
            etag = result.Details.ETag;
            totalLength = ParseTotalLength(result.Details.ContentRange, result.Details.ContentLength);
            prefixRead = await result.Content.ReadAtLeastAsync(prefix, prefixSize, throwOnEndOfStream: false, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 416)
        {
            // An empty blob has no satisfiable range.
            throw new SafetensorsFormatException(name, null, "it is 0 bytes long, shorter than the 8-byte header length prefix", ex);
        }

        if (totalLength >= prefixSize && prefixRead < prefixSize)
        {
            throw new SafetensorsFormatException(name, null, $"the blob ended after {prefixRead} bytes while reading the header length prefix");
        }

        var headerLength = SafetensorsHeaderReader.ReadHeaderLength(prefix.AsSpan(0, prefixRead), totalLength, name);
        var json = new byte[headerLength];
        await ReadRangeAsync(blob, etag, prefixSize, json, name, null, cancellationToken);
        var dataStart = prefixSize + (long)headerLength;
        var header = SafetensorsHeaderReader.Parse(json, totalLength - dataStart, name);
        return new BlobSource(blob, etag, dataStart, header, options) { Length = totalLength };
    }

    /// <inheritdoc />
    public async ValueTask ReadAsync(int tensorIndex, long byteOffset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var tensor = Tensors[tensorIndex];
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(byteOffset + destination.Length, tensor.ByteLength, nameof(destination));
        var start = _dataStart + tensor.DataBegin + byteOffset;
        var rangeBytes = _options.RangeBytes;
        if (_options.ReadAheadWindows > 0 && destination.Length < rangeBytes)
        {
            await ReadThroughWindowsAsync(start, destination, tensor.Name, cancellationToken);
            return;
        }

        if (destination.Length <= rangeBytes)
        {
            await ThrottledReadAsync(start, destination, tensor.Name, cancellationToken);
            return;
        }

        var parts = new List<Task>((destination.Length + rangeBytes - 1) / rangeBytes);
        for (var offset = 0; offset < destination.Length; offset += rangeBytes)
        {
            var part = destination.Slice(offset, Math.Min(rangeBytes, destination.Length - offset));
            parts.Add(ThrottledReadAsync(start + offset, part, tensor.Name, cancellationToken));
        }

        await Task.WhenAll(parts);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        Task[] fetches;
        lock (_gate)
        {
            fetches = [.. _windows.Values.Select(w => w.Fetch)];
            _windows.Clear();
        }

        foreach (var fetch in fetches)
        {
            try
            {
                await fetch;
            }
            catch (Exception)
            {
                // Cancelled by the dispose, or failed for a read that reported it.
            }
        }

        _disposed.Dispose();
        _requests.Dispose();
    }

    private async Task ReadThroughWindowsAsync(long start, Memory<byte> destination, string tensor, CancellationToken cancellationToken)
    {
        var size = _options.RangeBytes;
        var filled = 0;
        while (filled < destination.Length)
        {
            var position = start + filled;
            var window = Acquire(position / size, tensor);
            try
            {
                await window.Fetch.WaitAsync(cancellationToken);
                var offset = (int)(position - (window.Index * size));
                var count = Math.Min(destination.Length - filled, window.Length - offset);
                window.Buffer.AsSpan(offset, count).CopyTo(destination.Span[filled..]);
                filled += count;
            }
            finally
            {
                lock (_gate)
                {
                    window.Users--;
                }
            }
        }
    }

    /// <summary>Finds or starts the fetch of window <paramref name="index"/> (marked in use), and fetches ahead.</summary>
    private Window Acquire(long index, string tensor)
    {
        lock (_gate)
        {
            if (!_windows.TryGetValue(index, out var window) || window.Fetch.IsFaulted || window.Fetch.IsCanceled)
            {
                _windows.Remove(index);
                window = StartFetch(index, tensor, evictAhead: true)!;
            }

            window.Users++;
            window.LastUse = ++_useClock;
            var last = (Length - 1) / _options.RangeBytes;
            for (var ahead = index + 1; ahead <= Math.Min(last, index + _options.ReadAheadWindows); ahead++)
            {
                if (!_windows.ContainsKey(ahead) && StartFetch(ahead, tensor, evictAhead: false) is null)
                {
                    break;
                }
            }

            return window;
        }
    }

    /// <summary>Starts fetching a window into a free or evicted buffer; under <see cref="_gate"/>. Null when a
    /// read-ahead would need to evict a window still wanted.</summary>
    private Window? StartFetch(long index, string tensor, bool evictAhead)
    {
        var capacity = _options.ReadAheadWindows + 1;
        if (!_freeWindowBuffers.TryPop(out var buffer) && _windows.Count >= capacity)
        {
            // Evict the least recently used idle window; a read-ahead only evicts windows behind the one it serves.
            var victim = _windows.Values
                .Where(w => w.Users == 0 && w.Fetch.IsCompleted && (evictAhead || w.Index < index - _options.ReadAheadWindows))
                .MinBy(w => w.LastUse);
            if (victim is not null)
            {
                _windows.Remove(victim.Index);
                buffer = victim.Buffer;
            }
            else if (!evictAhead)
            {
                return null;
            }
        }

        buffer ??= GC.AllocateUninitializedArray<byte>(_options.RangeBytes);
        var begin = index * _options.RangeBytes;
        var window = new Window(index, buffer, (int)Math.Min(_options.RangeBytes, Length - begin));
        window.Fetch = ThrottledReadAsync(begin, buffer.AsMemory(0, window.Length), tensor, _disposed.Token);
        _windows[index] = window;
        return window;
    }

    internal static string NameOf(BlobClient blob) => $"{blob.BlobContainerName}/{blob.Name}";

    private async Task ThrottledReadAsync(long start, Memory<byte> destination, string tensor, CancellationToken cancellationToken)
    {
        await _requests.WaitAsync(cancellationToken);
        try
        {
            await ReadRangeAsync(_blob, _etag, start, destination, Name, tensor, cancellationToken);
        }
        finally
        {
            _requests.Release();
        }
    }

    private static async Task ReadRangeAsync(
        BlobClient blob, ETag etag, long start, Memory<byte> destination, string name, string? tensor, CancellationToken cancellationToken)
    {
        if (destination.IsEmpty)
        {
            return;
        }

        BlobDownloadStreamingResult result;
        try
        {
            result = (await blob.DownloadStreamingAsync(
                new BlobDownloadOptions
                {
                    Range = new HttpRange(start, destination.Length),
                    Conditions = new BlobRequestConditions { IfMatch = etag },
                },
                cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            throw new IOException($"Blob '{name}' changed while it was being read (its ETag is no longer {etag}).", ex);
        }
        catch (RequestFailedException ex) when (ex.Status == 416)
        {
            throw new SafetensorsFormatException(name, tensor, $"the blob ended before byte {start} (was it truncated after it was opened?)", ex);
        }

        using (result)
        {
            // Copy through a small buffer of our own: the destination may be a float array seen as bytes, which the
            // network stack must not pin at an unaligned offset.
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(CopyBufferBytes, destination.Length));
            try
            {
                var filled = 0;
                while (filled < destination.Length)
                {
                    var want = Math.Min(buffer.Length, destination.Length - filled);
                    var read = await result.Content.ReadAsync(buffer.AsMemory(0, want), cancellationToken);
                    if (read == 0)
                    {
                        throw new SafetensorsFormatException(name, tensor,
                            $"the blob ended at byte {start + filled} while reading {destination.Length} bytes from byte {start} (was it truncated after it was opened?)");
                    }

                    buffer.AsSpan(0, read).CopyTo(destination.Span[filled..]);
                    filled += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private sealed class Window(long index, byte[] buffer, int length)
    {
        public long Index { get; } = index;

        public byte[] Buffer { get; } = buffer;

        public int Length { get; } = length;

        public Task Fetch { get; set; } = Task.CompletedTask;

        public int Users { get; set; }

        public long LastUse { get; set; }
    }

    private static long ParseTotalLength(string? contentRange, long contentLength)
    {
        // "bytes 0-7/12345"; absent when the service answered the whole blob (shorter than the range asked for).
        if (contentRange is not null)
        {
            var slash = contentRange.LastIndexOf('/');
            if (slash >= 0 && long.TryParse(contentRange.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total))
            {
                return total;
            }
        }

        return contentLength;
    }
}
