using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Core.Jobs;

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
    public const string BlobScheme = DatasetSources.BlobScheme;

    /// <summary>The file in a downloaded dataset's folder that lists its blobs (name, size, ETag); written last.</summary>
    public const string MarkerFile = ".soup-dataset.json";

    private readonly BlobServiceClient _blobs;
    private readonly WorkerOptions _options;
    private readonly IReadOnlyCollection<string> _containers;
    private readonly string? _pipelineContainer;
    private readonly ILogger<DatasetResolver> _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _downloads = new(StringComparer.Ordinal);

    /// <summary>Creates the resolver over the worker's storage account and settings.</summary>
    public DatasetResolver(SoupStorage storage, IOptions<WorkerOptions> options, ILogger<DatasetResolver> logger)
        : this(storage?.Blobs ?? throw new ArgumentNullException(nameof(storage)), options?.Value ?? throw new ArgumentNullException(nameof(options)), storage.DatasetContainers, logger, storage.Checkpoints.Name)
    {
    }

    /// <summary>
    /// Creates the resolver over a blob service and settings, reading <c>blob:</c> datasets only from
    /// <paramref name="containers"/>, and a pipeline's own generated pairs (<see cref="PairDatasets"/>) from
    /// <paramref name="pipelineContainer"/> (null: none can be read).
    /// </summary>
    public DatasetResolver(BlobServiceClient blobs, WorkerOptions options, IReadOnlyCollection<string> containers, ILogger<DatasetResolver> logger, string? pipelineContainer = null)
    {
        this._pipelineContainer = pipelineContainer;
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(containers);
        ArgumentNullException.ThrowIfNull(logger);
        this._blobs = blobs;
        this._options = options;
        this._containers = containers;
        this._logger = logger;
    }

    /// <summary>The local folder of <paramref name="dataset"/>, downloading it first when it is in blob storage and not yet cached.</summary>
    /// <exception cref="ArgumentException">The name is empty, rooted, climbs with <c>..</c>, names no container, or a container
    /// that is not a dataset container (<c>DatasetContainers</c>).</exception>
    /// <exception cref="FileNotFoundException">No blob exists under the prefix (or the container does not exist).</exception>
    /// <exception cref="InvalidDataException">The dataset has more files or bytes than <see cref="WorkerOptions.MaxDatasetFiles"/> or <see cref="WorkerOptions.MaxDatasetBytes"/>.</exception>
    public async Task<string> ResolveAsync(string dataset, CancellationToken cancellationToken = default) =>
        (await ResolveVersionAsync(dataset, cancellationToken)).Folder;

    /// <summary>
    /// <see cref="ResolveAsync"/>, with the version of a <c>blob:</c> dataset (<see cref="DatasetFingerprint"/>; null for a
    /// folder under the data root). Every call lists the prefix once and compares it with the cached copy's: a dataset
    /// whose blobs were added, removed or rewritten (another ETag) is downloaded again, into a folder of its own version,
    /// and older versions' folders of the same prefix are removed.
    /// </summary>
    public Task<ResolvedDataset> ResolveVersionAsync(string dataset, CancellationToken cancellationToken = default) =>
        ResolveVersionAsync(dataset, null, cancellationToken);

    /// <summary>
    /// <see cref="ResolveVersionAsync(string, CancellationToken)"/> for a job of pipeline <paramref name="pipelineId"/>:
    /// a generated pairs dataset (<see cref="PairDatasets"/>, e.g. <c>pairs:train</c>) is that pipeline's, read from
    /// its folder in the checkpoints container like any <c>blob:</c> dataset.
    /// </summary>
    /// <exception cref="ArgumentException">A generated dataset without a pipeline, an unknown one, or no pipeline container configured.</exception>
    public async Task<ResolvedDataset> ResolveVersionAsync(string dataset, string? pipelineId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        string container, prefix;
        if (PairDatasets.IsGenerated(dataset))
        {
            if (pipelineId is null || _pipelineContainer is null)
                throw new ArgumentException($"Dataset '{dataset}' is a pipeline's generated pairs: it is read only for a job of that pipeline.", nameof(dataset));
            (container, prefix) = (_pipelineContainer, PairDatasets.Prefix(pipelineId, dataset));
        }
        else if (!dataset.StartsWith(BlobScheme, StringComparison.Ordinal))
        {
            return new ResolvedDataset(Path.Combine(_options.DataRoot, CheckRelative(dataset, dataset)), null);
        }
        else
        {
            (container, prefix) = ParseBlob(dataset);
        }

        var client = _blobs.GetBlobContainerClient(container);
        var listed = await ListAsync(client, prefix, cancellationToken).ConfigureAwait(false);
        var version = DatasetFingerprint.Of(listed.Select(b => (b.Name, b.ETag, b.Size)));
        var key = $"{container}/{prefix}@{version}";
        var download = _downloads.GetOrAdd(key, _ => new Lazy<Task<string>>(() => FetchAsync(client, prefix, listed, version)));
        try
        {
            return new ResolvedDataset(await download.Value.WaitAsync(cancellationToken).ConfigureAwait(false), version);
        }
        catch when (download.Value.IsFaulted)
        {
            _downloads.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, download));
            throw;
        }
    }

    /// <summary>The folder in the cache that holds one version of a downloaded container and prefix.</summary>
    public string CacheFolder(string container, string prefix, string version) =>
        Path.Combine(_options.DataCache, $"{PrefixStem(container, prefix)}-{VersionTag(version)}");

    /// <summary>The name every cached version of a container and prefix starts with.</summary>
    private static string PrefixStem(string container, string prefix)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{container}/{prefix}")))[..12];
        var readable = new string($"{container}-{prefix}".Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_').ToArray()).Trim('_', '.');
        return $"{readable[..Math.Min(readable.Length, 80)]}-{hash}";
    }

    private static string VersionTag(string version) => version.Replace("sha256:", "", StringComparison.Ordinal);

    private (string Container, string Prefix) ParseBlob(string dataset)
    {
        var rest = dataset[BlobScheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (container.Length == 0)
            throw new ArgumentException($"Dataset '{dataset}' names no container: write {BlobScheme}<container>/<prefix>.", nameof(dataset));
        if (DatasetSources.Problem(dataset, _containers) is { } problem)
            throw new ArgumentException($"Dataset '{dataset}': {problem}.", nameof(dataset));
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

    /// <summary>The blobs under the prefix, within the download limits (checked before anything is downloaded).</summary>
    private async Task<List<MarkerEntry>> ListAsync(BlobContainerClient client, string prefix, CancellationToken cancellationToken)
    {
        var listed = new List<MarkerEntry>();
        long bytes = 0;
        try
        {
            await foreach (var item in client.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
            {
                var entry = new MarkerEntry(item.Name, item.Properties.ContentLength ?? 0, item.Properties.ETag?.ToString() ?? "");
                listed.Add(entry);
                bytes += entry.Size;
                if (listed.Count > _options.MaxDatasetFiles)
                    throw new InvalidDataException($"more than {_options.MaxDatasetFiles:N0} blobs under prefix '{prefix}' in container '{client.Name}' (MaxDatasetFiles); nothing was downloaded");
                if (bytes > _options.MaxDatasetBytes)
                    throw new InvalidDataException($"more than {_options.MaxDatasetBytes:N0} bytes under prefix '{prefix}' in container '{client.Name}' (MaxDatasetBytes); nothing was downloaded");
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

    private async Task<string> FetchAsync(BlobContainerClient client, string prefix, List<MarkerEntry> listed, string version)
    {
        var target = CacheFolder(client.Name, prefix, version);
        if (File.Exists(Path.Combine(target, MarkerFile)))
            return target;
        LogDownloading(_logger, client.Name, prefix, target);
        var temporary = Path.Combine(_options.DataCache, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temporary);
        try
        {
            await DownloadAsync(client, prefix, listed, temporary).ConfigureAwait(false);
            WriteMarker(Path.Combine(temporary, MarkerFile), client.Name, prefix, version, listed);
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
            LogDownloaded(_logger, client.Name, prefix, listed.Count, listed.Sum(b => b.Size));
            RemoveOlderVersions(client.Name, prefix, target);
            return target;
        }
        finally
        {
            if (Directory.Exists(temporary))
                Directory.Delete(temporary, recursive: true);
        }
    }

    /// <summary>Removes the cached folders of other versions of the same container and prefix (best effort).</summary>
    private void RemoveOlderVersions(string container, string prefix, string current)
    {
        var stem = PrefixStem(container, prefix) + "-";
        foreach (var folder in Directory.EnumerateDirectories(_options.DataCache, stem + "*"))
        {
            if (string.Equals(folder, current, StringComparison.Ordinal))
                continue;
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogOldVersionKept(_logger, folder, ex.Message);
            }
        }
    }

    /// <summary>Downloads exactly the listed blobs, each only if unchanged since the listing (If-Match its ETag).</summary>
    private static async Task DownloadAsync(BlobContainerClient client, string prefix, List<MarkerEntry> listed, string folder)
    {
        foreach (var item in listed)
        {
            var relative = item.Name[prefix.Length..];
            var path = Path.GetFullPath(Path.Combine(folder, relative));
            if (relative.Length == 0 || !path.StartsWith(Path.GetFullPath(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new InvalidDataException($"Blob '{item.Name}' in container '{client.Name}' does not map to a file under the dataset folder.");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var conditions = item.ETag.Length > 0 ? new BlobRequestConditions { IfMatch = new ETag(item.ETag) } : null;
            await client.GetBlobClient(item.Name).DownloadToAsync(path, new BlobDownloadToOptions { Conditions = conditions }).ConfigureAwait(false);
        }
    }

    private static void WriteMarker(string path, string container, string prefix, string version, List<MarkerEntry> listed)
    {
        using var file = File.Create(path);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("container", container);
        json.WriteString("prefix", prefix);
        json.WriteString("version", version);
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

    [LoggerMessage(EventId = 432, Level = LogLevel.Warning, Message = "An older cached version of a dataset, {Folder}, could not be removed: {Reason}")]
    private static partial void LogOldVersionKept(ILogger logger, string folder, string reason);

    [LoggerMessage(EventId = 430, Level = LogLevel.Information, Message = "Downloading dataset {Container}/{Prefix} into {Folder}")]
    private static partial void LogDownloading(ILogger logger, string container, string prefix, string folder);

    [LoggerMessage(EventId = 431, Level = LogLevel.Information, Message = "Downloaded dataset {Container}/{Prefix}: {Count} blobs, {Bytes} bytes")]
    private static partial void LogDownloaded(ILogger logger, string container, string prefix, int count, long bytes);
}

/// <summary>Where a resolved dataset is on disk, and its version (null for a folder under the data root).</summary>
/// <param name="Folder">The dataset's local folder.</param>
/// <param name="Version">The <see cref="DatasetFingerprint"/> of a <c>blob:</c> dataset's listing, or null.</param>
public sealed record ResolvedDataset(string Folder, string? Version);
