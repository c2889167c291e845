using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

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
    /// ranged requests). Memory per source is at most (this + 1) × <see cref="RangeBytes"/> (24 MiB by default) plus
    /// <see cref="MaxConcurrentRequests"/> copy buffers of 256 KiB (see <see cref="BlobSource.BufferBytes"/>): a read
    /// that finds every window busy reads straight into its destination instead of taking another window. A merge's
    /// <see cref="MergeEngineOptions.MemoryBudgetBytes"/> may lower both (<see cref="BlobSource.LimitBuffers"/>).
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
    private const int SmallCopyBufferBytes = 64 << 10;
    private const int MinWindowBytes = 256 << 10;

    private readonly BlobClient _blob;
    private readonly ETag _etag;
    private readonly long _dataStart;
    private readonly BlobSourceOptions _options;
    private SemaphoreSlim _requests;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Window> _windows = [];
    private long _useClock;
    private int _windowBytes;
    private int _aheadWindows;
    private int _concurrentRequests;
    private int _copyBytes = CopyBufferBytes;
    private long _heldBytes;
    private long _peakHeldBytes;

    /// <summary>The whole tensor data when the opening read held all of the blob (a small checkpoint), else null.</summary>
    private readonly byte[]? _dataInHand;

    private BlobSource(BlobClient blob, ETag etag, long dataStart, long length, SafetensorsHeader header, BlobSourceOptions options, byte[]? dataInHand)
    {
        _blob = blob;
        _etag = etag;
        _dataStart = dataStart;
        _options = options;
        _dataInHand = dataInHand;
        _heldBytes = _peakHeldBytes = dataInHand?.Length ?? 0;
        Length = length;

        // A window never needs to be longer than the blob.
        _windowBytes = (int)Math.Max(1, Math.Min(options.RangeBytes, length));
        _aheadWindows = options.ReadAheadWindows;
        _concurrentRequests = options.MaxConcurrentRequests;
        _requests = new SemaphoreSlim(_concurrentRequests);
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
    public long Length { get; }

    /// <summary>
    /// The most bytes this source holds in buffers of its own: (read-ahead windows + 1) × window size when read-ahead is
    /// on, plus one copy buffer per concurrent request (used by reads into memory that is not a byte array).
    /// </summary>
    public long BufferBytes => _dataInHand is { } inHand
        ? inHand.Length // every read is served from the opening read: no window, no copy buffer
        : (_aheadWindows > 0 ? (_aheadWindows + 1) * (long)_windowBytes : 0) + ((long)_concurrentRequests * _copyBytes);

    /// <summary>True when the opening read held the whole blob: its data is read from memory, with no further request.</summary>
    public bool DataInHand => _dataInHand is not null;

    /// <summary>The most bytes its buffers actually held at once since it was opened (window buffers allocated and copy
    /// buffers in use); never above the largest <see cref="BufferBytes"/> it had.</summary>
    public long PeakBufferBytes => Interlocked.Read(ref _peakHeldBytes);

    /// <summary>The window size reads go through now (<see cref="BlobSourceOptions.RangeBytes"/> or less).</summary>
    public int WindowBytes => _windowBytes;

    /// <summary>Windows fetched ahead now (<see cref="BlobSourceOptions.ReadAheadWindows"/> or fewer; 0: read-ahead off).</summary>
    public int ReadAheadWindows => _aheadWindows;

    /// <summary>The size of the first ranged read, which holds the header of most checkpoints.</summary>
    private const int OpeningReadBytes = 32 << 10;

    /// <summary>
    /// Reads and validates the blob's header: one ranged read when it fits in the first 32 KiB, else two. A blob that fits
    /// whole in that first read (a small checkpoint: a head, an adapter, a test model) keeps its data from it, so reading
    /// its tensors costs no further request: a merge of N small members makes N requests, not 2N.
    /// </summary>
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

        // The first read takes the length prefix and, for most checkpoints, the whole header with it: one request per
        // source instead of two (a merge of 1,024 members opens 1,024 sources).
        var prefix = new byte[OpeningReadBytes];
        long totalLength;
        ETag etag;
        int prefixRead;
        try
        {
            var response = await blob.DownloadStreamingAsync(
                new BlobDownloadOptions { Range = new HttpRange(0, prefix.Length) }, cancellationToken);
            using var result = response.Value;
            etag = result.Details.ETag;
            totalLength = ParseTotalLength(result.Details.ContentRange, result.Details.ContentLength);
            prefixRead = await result.Content.ReadAtLeastAsync(prefix, (int)Math.Min(prefix.Length, totalLength), throwOnEndOfStream: false, cancellationToken);
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

        var headerLength = SafetensorsHeaderReader.ReadHeaderLength(prefix.AsSpan(0, Math.Min(prefixRead, prefixSize)), totalLength, name);
        var json = new byte[headerLength];
        var inPrefix = (int)Math.Clamp(prefixRead - prefixSize, 0, headerLength);
        prefix.AsSpan(prefixSize, inPrefix).CopyTo(json);
        if (inPrefix < headerLength)
            await ReadRangeAsync(blob, etag, prefixSize + inPrefix, json.AsMemory(inPrefix), name, null, null, cancellationToken);
        var dataStart = prefixSize + (long)headerLength;
        var header = SafetensorsHeaderReader.Parse(json, totalLength - dataStart, name);
        var dataInHand = prefixRead >= totalLength ? prefix.AsSpan((int)dataStart, (int)(totalLength - dataStart)).ToArray() : null;
        return new BlobSource(blob, etag, dataStart, totalLength, header, options, dataInHand);
    }

    /// <inheritdoc />
    public async ValueTask ReadAsync(int tensorIndex, long byteOffset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var tensor = Tensors[tensorIndex];
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(byteOffset + destination.Length, tensor.ByteLength, nameof(destination));
        if (_dataInHand is { } inHand)
        {
            inHand.AsSpan((int)(tensor.DataBegin + byteOffset), destination.Length).CopyTo(destination.Span);
            return;
        }

        var start = _dataStart + tensor.DataBegin + byteOffset;
        var rangeBytes = _windowBytes;
        if (_aheadWindows > 0 && destination.Length < rangeBytes)
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

    /// <summary>
    /// Keeps <see cref="BufferBytes"/> at or under <paramref name="maxBytes"/> for reads started from now on: smaller
    /// copy buffers first (64 KiB), then smaller windows (down to 256 KiB), then fewer windows ahead, then read-ahead off
    /// and fewer concurrent requests. Never raises anything above <see cref="BlobSourceOptions"/>. Call it between
    /// reads (the engine does before its first): windows already fetched are dropped.
    /// </summary>
    /// <returns>The new <see cref="BufferBytes"/>: above <paramref name="maxBytes"/> only when that is under one 4 KiB copy buffer.</returns>
    public long LimitBuffers(long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        if (_dataInHand is { } inHand)
            return inHand.Length; // nothing to limit: no window or copy buffer is ever taken
        var full = (int)Math.Max(1, Math.Min(_options.RangeBytes, Length));
        var (window, ahead, requests, copy) = (full, _options.ReadAheadWindows, _options.MaxConcurrentRequests, CopyBufferBytes);
        if (Footprint(window, ahead, requests, copy) > maxBytes)
        {
            copy = (int)Math.Clamp(maxBytes / requests / 4096 * 4096, 4096, SmallCopyBufferBytes);
            requests = (int)Math.Clamp(maxBytes / copy, 1, requests);
            var rest = maxBytes - ((long)requests * copy);
            for (; ahead > 0; ahead--)
            {
                var size = rest / (ahead + 1) / 4096 * 4096;
                if (size >= Math.Min(MinWindowBytes, full))
                {
                    window = (int)Math.Min(size, full);
                    break;
                }
            }
        }

        lock (_gate)
        {
            foreach (var idle in _windows.Values.Where(w => w.Users == 0 && w.Fetch.IsCompleted).ToList())
            {
                _windows.Remove(idle.Index);
                Release(idle.Buffer.Length);
            }

            if (_windows.Count > 0)
            {
                throw new InvalidOperationException($"'{Name}': buffers can only be limited while no read is in flight.");
            }

            (_windowBytes, _aheadWindows, _copyBytes) = (window, ahead, copy);
            if (requests != _concurrentRequests)
            {
                _concurrentRequests = requests;
                _requests = new SemaphoreSlim(requests);
            }
        }

        return BufferBytes;
    }

    private static long Footprint(int window, int ahead, int requests, int copy) =>
        (ahead > 0 ? (ahead + 1) * (long)window : 0) + ((long)requests * copy);

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
    }

    private async Task ReadThroughWindowsAsync(long start, Memory<byte> destination, string tensor, CancellationToken cancellationToken)
    {
        var size = _windowBytes;
        var filled = 0;
        while (filled < destination.Length)
        {
            var position = start + filled;
            var window = Acquire(position / size, tensor);
            if (window is null)
            {
                // Every window is busy: read this window's part straight into the destination rather than take another.
                var part = (int)Math.Min(destination.Length - filled, ((position / size) + 1) * size - position);
                await ThrottledReadAsync(position, destination.Slice(filled, part), tensor, cancellationToken);
                filled += part;
                continue;
            }

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

    /// <summary>Finds or starts the fetch of window <paramref name="index"/> (marked in use), and fetches ahead; null
    /// when every window is in use and none may be added.</summary>
    private Window? Acquire(long index, string tensor)
    {
        lock (_gate)
        {
            if (!_windows.TryGetValue(index, out var window) || window.Fetch.IsFaulted || window.Fetch.IsCanceled)
            {
                if (_windows.Remove(index, out var failed))
                {
                    Release(failed.Buffer.Length);
                }

                window = StartFetch(index, tensor, evictAhead: true);
                if (window is null)
                {
                    return null;
                }
            }

            window.Users++;
            window.LastUse = ++_useClock;
            var last = (Length - 1) / _windowBytes;
            for (var ahead = index + 1; ahead <= Math.Min(last, index + _aheadWindows); ahead++)
            {
                if (!_windows.ContainsKey(ahead) && StartFetch(ahead, tensor, evictAhead: false) is null)
                {
                    break;
                }
            }

            return window;
        }
    }

    /// <summary>Starts fetching a window into an evicted or new buffer (at most read-ahead + 1 of them); under
    /// <see cref="_gate"/>. Null when that would need to evict a window still in use (or, for a read-ahead, still wanted).</summary>
    private Window? StartFetch(long index, string tensor, bool evictAhead)
    {
        var capacity = _aheadWindows + 1;
        byte[]? buffer = null;
        if (_windows.Count >= capacity)
        {
            // Evict the least recently used idle window; a read-ahead only evicts windows behind the one it serves.
            var victim = _windows.Values
                .Where(w => w.Users == 0 && w.Fetch.IsCompleted && (evictAhead || w.Index < index - _aheadWindows))
                .MinBy(w => w.LastUse);
            if (victim is null)
            {
                return null;
            }

            _windows.Remove(victim.Index);
            buffer = victim.Buffer;
        }

        if (buffer is null)
        {
            buffer = GC.AllocateUninitializedArray<byte>(_windowBytes);
            Hold(buffer.Length);
        }

        var begin = index * _windowBytes;
        var window = new Window(index, buffer, (int)Math.Min(_windowBytes, Length - begin));
        window.Fetch = ThrottledReadAsync(begin, buffer.AsMemory(0, window.Length), tensor, _disposed.Token);
        _windows[index] = window;
        return window;
    }

    internal static string NameOf(BlobClient blob) => $"{blob.BlobContainerName}/{blob.Name}";

    private async Task ThrottledReadAsync(long start, Memory<byte> destination, string tensor, CancellationToken cancellationToken)
    {
        var requests = _requests;
        await requests.WaitAsync(cancellationToken);
        try
        {
            await ReadRangeAsync(_blob, _etag, start, destination, Name, tensor, this, cancellationToken);
        }
        finally
        {
            requests.Release();
        }
    }

    private void Hold(long bytes)
    {
        var held = Interlocked.Add(ref _heldBytes, bytes);
        long peak;
        while (held > (peak = Interlocked.Read(ref _peakHeldBytes)) && Interlocked.CompareExchange(ref _peakHeldBytes, held, peak) != peak)
        {
        }
    }

    private void Release(long bytes) => Interlocked.Add(ref _heldBytes, -bytes);

    /// <summary>Reads a range into <paramref name="destination"/>: straight in when it is a byte array, else through a
    /// pooled copy buffer of <paramref name="owner"/>'s copy size (accounted to it).</summary>
    private static async Task ReadRangeAsync(
        BlobClient blob, ETag etag, long start, Memory<byte> destination, string name, string? tensor, BlobSource? owner, CancellationToken cancellationToken)
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
            if (MemoryMarshal.TryGetArray<byte>(destination, out var array))
            {
                await FillAsync(result.Content, array.AsMemory(), start, destination.Length, name, tensor, cancellationToken);
                return;
            }

            // Copy through a small buffer of our own: the destination may be a float array seen as bytes, which the
            // network stack must not pin at an unaligned offset.
            var size = Math.Min(owner?._copyBytes ?? CopyBufferBytes, destination.Length);
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            owner?.Hold(size);
            try
            {
                var filled = 0;
                while (filled < destination.Length)
                {
                    var want = Math.Min(size, destination.Length - filled);
                    await FillAsync(result.Content, buffer.AsMemory(0, want), start + filled, destination.Length, name, tensor, cancellationToken);
                    buffer.AsSpan(0, want).CopyTo(destination.Span[filled..]);
                    filled += want;
                }
            }
            finally
            {
                owner?.Release(size);
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Fills <paramref name="target"/> from the response, failing clearly when the blob ends early.</summary>
    private static async Task FillAsync(Stream content, Memory<byte> target, long position, int total, string name, string? tensor, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < target.Length)
        {
            var read = await content.ReadAsync(target[filled..], cancellationToken);
            if (read == 0)
            {
                throw new SafetensorsFormatException(name, tensor,
                    $"the blob ended at byte {position + filled} while reading {total} bytes (was it truncated after it was opened?)");
            }

            filled += read;
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
