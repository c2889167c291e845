using System.Globalization;
using Azure.Storage.Blobs;
using Soup.Core.Specs;

namespace Soup.Orchestration;

/// <summary>
/// Which version of its data a scheduled run used. A dataset in Blob Storage (<c>blob:&lt;container&gt;/&lt;prefix&gt;</c>)
/// is versioned by its listing (<see cref="Soup.Core.Storage.DatasetFingerprint"/>, the version the workers' cache is keyed
/// on and their checkpoints record as <c>dataset_version</c>), so any added, removed or rewritten file gives another version. A dataset folder on the workers cannot be seen from here: it is
/// recorded by name, and each checkpoint names its dataset in its metadata.
/// </summary>
public static class DatasetVersion
{
    /// <summary>The version of every dataset the spec reads (training, auxiliary, evaluation), one per line.</summary>
    public static async Task<string> DescribeAsync(BlobServiceClient blobs, PipelineSpec spec, CancellationToken cancellationToken = default) =>
        (await ReadAsync(blobs, spec, cancellationToken)).Description;

    /// <summary>
    /// The version of every dataset the spec reads: a description, one line per dataset, and the fingerprint of each
    /// <c>blob:</c> dataset by name, which a scheduled run pins its jobs to (<see cref="PipelineInput.DataVersions"/>).
    /// </summary>
    public static async Task<(string Description, IReadOnlyDictionary<string, string> Versions)> ReadAsync(
        BlobServiceClient blobs, PipelineSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(spec);
        var datasets = DatasetSources.Of(spec).Select(d => d.Dataset).Distinct(StringComparer.Ordinal);
        var lines = new List<string>();
        var versions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var dataset in datasets)
        {
            var (line, version) = await OneAsync(blobs, dataset, cancellationToken);
            lines.Add(line);
            if (version is not null)
                versions[dataset] = version;
        }

        return (string.Join("\n", lines), versions);
    }

    private static async Task<(string Line, string? Version)> OneAsync(BlobServiceClient blobs, string dataset, CancellationToken cancellationToken)
    {
        if (Soup.Core.Jobs.PairDatasets.IsGenerated(dataset))
        {
            return ($"{dataset}: preference pairs this run makes itself (its pairs job, from the corpus above)", null);
        }

        if (!dataset.StartsWith("blob:", StringComparison.Ordinal))
        {
            return ($"{dataset}: a folder on the workers (not visible here; each checkpoint's metadata names it)", null);
        }

        var rest = dataset["blob:".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = blobs.GetBlobContainerClient(rest[..slash]);
        var prefix = rest[(slash + 1)..].TrimEnd('/') + "/";
        var entries = new List<(string Name, string ETag, long Size)>();
        DateTimeOffset? newest = null;
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, cancellationToken))
        {
            entries.Add((blob.Name, blob.Properties.ETag?.ToString() ?? "", blob.Properties.ContentLength ?? 0));
            if (blob.Properties.LastModified is { } modified && (newest is null || modified > newest))
            {
                newest = modified;
            }
        }

        var name = $"blob:{container.Name}/{prefix.TrimEnd('/')}";
        if (entries.Count == 0)
        {
            return ($"{name}: no blobs under the prefix", null);
        }

        var version = Soup.Core.Storage.DatasetFingerprint.Of(entries);
        return (string.Create(CultureInfo.InvariantCulture, $"{name}: {version} ({entries.Count} blobs, newest {newest:O})"), version);
    }
}
