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
    /// <summary>The largest byte range one request asks for; longer reads are split into parallel ranged requests.</summary>
    public int RangeBytes { get; init; } = 4 << 20;

    /// <summary>The most ranged requests one source has in flight at once.</summary>
    public int MaxConcurrentRequests { get; init; } = 16;
}

/// <summary>
/// A safetensors blob read with ranged GETs: 8 bytes for the header length, then the header, then tensor data in
/// ranges (split and fetched in parallel). Every read after the first is conditional on the blob's ETag, so a blob
/// replaced during a merge fails the merge instead of mixing two versions.
/// </summary>
public sealed class BlobSource : ICheckpointSource
{
    private const int CopyBufferBytes = 256 << 10;

    private readonly BlobClient _blob;
    private readonly ETag _etag;
    private readonly long _dataStart;
    private readonly BlobSourceOptions _options;
    private readonly SemaphoreSlim _requests;

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
    public ValueTask DisposeAsync()
    {
        _requests.Dispose();
        return ValueTask.CompletedTask;
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
