using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;

namespace Soup.Jobs;

/// <summary>
/// Finds the local folder of a job's dataset (<see cref="Core.Jobs.DataRef.Dataset"/>): a plain name is a folder under
/// <see cref="WorkerOptions.DataRoot"/>; <c>blob:&lt;container&gt;/&lt;prefix&gt;</c> is every blob under the prefix,
/// downloaded once into <see cref="WorkerOptions.DataCache"/> (into a temporary folder, with a marker listing the blobs,
/// then renamed into place) and reused by later and concurrent calls, also from other processes sharing the cache.
/// </summary>
public sealed partial class DatasetResolver
{
    /// <summary>The scheme of datasets held in blob storage.</summary>
    public const string BlobScheme = "blob:";

    /// <summary>The file in a downloaded dataset's folder that lists its blobs (name, size, ETag); written last.</summary>
    public const string MarkerFile = ".soup-dataset.json";

    private readonly BlobServiceClient blobs;
    private readonly WorkerOptions options;
    private readonly ILogger<DatasetResolver> logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> downloads = new(StringComparer.Ordinal);

    /// <summary>Creates the resolver over the worker's storage account and settings.</summary>
    public DatasetResolver(SoupStorage storage, IOptions<WorkerOptions> options, ILogger<DatasetResolver> logger)
        : this(storage?.Blobs ?? throw new ArgumentNullException(nameof(storage)), options?.Value ?? throw new ArgumentNullException(nameof(options)), logger)
    {
    }

    /// <summary>Creates the resolver over a blob service and settings.</summary>
    public DatasetResolver(BlobServiceClient blobs, WorkerOptions options, ILogger<DatasetResolver> logger)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        this.blobs = blobs;
        this.options = options;
        this.logger = logger;
    }

    /// <summary>The local folder of <paramref name="dataset"/>, downloading it first when it is in blob storage and not yet cached.</summary>
    /// <exception cref="ArgumentException">The name is empty, rooted, climbs with <c>..</c>, or names no container.</exception>
    /// <exception cref="FileNotFoundException">No blob exists under the prefix (or the container does not exist).</exception>
    public async Task<string> ResolveAsync(string dataset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!dataset.StartsWith(BlobScheme, StringComparison.Ordinal))
            return Path.Combine(options.DataRoot, CheckRelative(dataset, dataset));

        var (container, prefix) = ParseBlob(dataset);
        var key = $"{container}/{prefix}";
        var download = downloads.GetOrAdd(key, _ => new Lazy<Task<string>>(() => FetchAsync(container, prefix)));
        try
        {
            return await download.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch when (download.Value.IsFaulted)
        {
            downloads.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, download));
            throw;
        }
    }

    /// <summary>The folder in the cache that holds a downloaded container and prefix.</summary>
    public string CacheFolder(string container, string prefix)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{container}/{prefix}")))[..12];
        var readable = new string($"{container}-{prefix}".Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_').ToArray()).Trim('_', '.');
        return Path.Combine(options.DataCache, $"{readable[..Math.Min(readable.Length, 80)]}-{hash}");
    }

    private static (string Container, string Prefix) ParseBlob(string dataset)
    {
        var rest = dataset[BlobScheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (container.Length == 0)
            throw new ArgumentException($"Dataset '{dataset}' names no container: write {BlobScheme}<container>/<prefix>.", nameof(dataset));
        if (prefix.Length > 0)
            CheckRelative(prefix, dataset);
        return (container, prefix.Length == 0 ? "" : prefix + "/");
    }

    private static string CheckRelative(string name, string dataset)
    {
        if (string.IsNullOrWhiteSpace(name) || Path.IsPathRooted(name) || name.Split('/', '\\').Any(s => s == ".."))
            throw new ArgumentException($"Dataset '{dataset}' must be a plain relative name (not empty, not rooted, no '..').", nameof(dataset));
        return name;
    }

    private async Task<string> FetchAsync(string container, string prefix)
    {
        var target = CacheFolder(container, prefix);
        if (File.Exists(Path.Combine(target, MarkerFile)))
            return target;
        LogDownloading(logger, container, prefix, target);
        var temporary = Path.Combine(options.DataCache, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temporary);
        try
        {
            var listed = await DownloadAsync(blobs.GetBlobContainerClient(container), prefix, temporary).ConfigureAwait(false);
            WriteMarker(Path.Combine(temporary, MarkerFile), container, prefix, listed);
            if (Directory.Exists(target) && !File.Exists(Path.Combine(target, MarkerFile)))
                Directory.Delete(target, recursive: true);
            try
            {
                Directory.Move(temporary, target);
            }
            catch (IOException) when (File.Exists(Path.Combine(target, MarkerFile)))
            {
                // Another process finished the same download first: use its copy.
            }
            LogDownloaded(logger, container, prefix, listed.Count, listed.Sum(b => b.Size));
            return target;
        }
        finally
        {
            if (Directory.Exists(temporary))
                Directory.Delete(temporary, recursive: true);
        }
    }

    private static async Task<List<MarkerEntry>> DownloadAsync(BlobContainerClient client, string prefix, string folder)
    {
        var listed = new List<MarkerEntry>();
        try
        {
            await foreach (var item in client.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, CancellationToken.None).ConfigureAwait(false))
            {
                var relative = item.Name[prefix.Length..];
                var path = Path.GetFullPath(Path.Combine(folder, relative));
                if (relative.Length == 0 || !path.StartsWith(Path.GetFullPath(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    throw new InvalidDataException($"Blob '{item.Name}' in container '{client.Name}' does not map to a file under the dataset folder.");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await client.GetBlobClient(item.Name).DownloadToAsync(path).ConfigureAwait(false);
                listed.Add(new MarkerEntry(item.Name, item.Properties.ContentLength ?? new FileInfo(path).Length, item.Properties.ETag?.ToString() ?? ""));
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new FileNotFoundException($"Dataset container '{client.Name}' does not exist (prefix '{prefix}').", $"{client.Name}/{prefix}", e);
        }
        if (listed.Count == 0)
            throw new FileNotFoundException($"No blobs under prefix '{prefix}' in container '{client.Name}': upload the dataset there first.", $"{client.Name}/{prefix}");
        return listed;
    }

    private static void WriteMarker(string path, string container, string prefix, List<MarkerEntry> listed)
    {
        using var file = File.Create(path);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("container", container);
        json.WriteString("prefix", prefix);
        json.WriteString("downloaded", DateTimeOffset.UtcNow);
        json.WriteStartArray("blobs");
        foreach (var blob in listed)
        {
            json.WriteStartObject();
            json.WriteString("name", blob.Name);
            json.WriteNumber("size", blob.Size);
            json.WriteString("etag", blob.ETag);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>One downloaded blob, as the marker lists it.</summary>
    private sealed record MarkerEntry(string Name, long Size, string ETag);

    [LoggerMessage(EventId = 430, Level = LogLevel.Information, Message = "Downloading dataset {Container}/{Prefix} into {Folder}")]
    private static partial void LogDownloading(ILogger logger, string container, string prefix, string folder);

    [LoggerMessage(EventId = 431, Level = LogLevel.Information, Message = "Downloaded dataset {Container}/{Prefix}: {Count} blobs, {Bytes} bytes")]
    private static partial void LogDownloaded(ILogger logger, string container, string prefix, int count, long bytes);
}
