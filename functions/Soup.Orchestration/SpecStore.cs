using System.Collections.Concurrent;
using System.Text.Json;
using Azure;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// Where a pipeline's spec is kept while it runs: stored once, named by its content hash (<see cref="SpecHash"/>), so
/// orchestration inputs carry the hash and an outline (<see cref="SpecOutline"/>), never the spec's per-member lists;
/// activities that plan jobs or summarize rounds read the spec back by its hash.
/// </summary>
public interface ISpecStore
{
    /// <summary>Stores <paramref name="spec"/> (idempotent: an existing blob of the same hash is left alone) and returns its hash.</summary>
    Task<string> PutAsync(PipelineSpec spec, CancellationToken cancellationToken = default);

    /// <summary>The spec stored under <paramref name="hash"/>; a <see cref="PipelineFailedException"/> when there is none.</summary>
    Task<PipelineSpec> GetAsync(string hash, CancellationToken cancellationToken = default);
}

/// <summary>
/// The specs of running pipelines as blobs <c>specs/{sha256}.json</c> in the checkpoints container (outside every
/// pipeline's folder: no pipeline id is <c>specs</c>), written with If-None-Match: two pipelines of one spec share one
/// blob. Contents are immutable by their name, so each process keeps those it read.
/// </summary>
public sealed class BlobSpecStore(SoupStorage storage) : ISpecStore
{
    /// <summary>The folder of spec blobs in the checkpoints container.</summary>
    public const string Folder = "specs";

    private static readonly ConcurrentDictionary<string, PipelineSpec> Cache = new(StringComparer.Ordinal);

    /// <summary>The blob name of the spec of hash <paramref name="hash"/>.</summary>
    public static string BlobName(string hash) => $"{Folder}/{hash}.json";

    /// <inheritdoc />
    public async Task<string> PutAsync(PipelineSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var json = SpecHash.Canonical(spec);
        var hash = SpecHash.Compute(spec);
        try
        {
            await storage.TryCreateBlobAsync(BlobName(hash), new MemoryStream(json), cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404 && ex.ErrorCode == "ContainerNotFound")
        {
            await SoupStorage.CreateIfAllowedAsync(storage.Checkpoints, cancellationToken);
            await storage.TryCreateBlobAsync(BlobName(hash), new MemoryStream(json), cancellationToken);
        }

        return hash;
    }

    /// <inheritdoc />
    public async Task<PipelineSpec> GetAsync(string hash, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(hash);
        var key = storage.Checkpoints.Uri + "/" + hash;
        if (Cache.TryGetValue(key, out var cached))
            return cached;
        BinaryData content;
        try
        {
            content = (await storage.Checkpoints.GetBlobClient(BlobName(hash)).DownloadContentAsync(cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw SpecStores.Missing(BlobName(hash), storage.Checkpoints.Name);
        }

        var spec = SpecStores.Read(hash, content.ToMemory().Span, BlobName(hash));
        Cache[key] = spec;
        return spec;
    }
}

/// <summary>What every spec store shares: how a stored spec is checked and what a missing one says.</summary>
public static class SpecStores
{
    /// <summary>The failure of a pipeline whose spec blob is gone (not retried: it will not come back).</summary>
    public static PipelineFailedException Missing(string blobName, string container) => new(
        $"the pipeline's spec '{blobName}' does not exist in container '{container}' (it is written when the pipeline starts and must stay while it runs)");

    /// <summary>Reads a stored spec and checks that it hashes to its name.</summary>
    public static PipelineSpec Read(string hash, ReadOnlySpan<byte> json, string blobName)
    {
        PipelineSpec? spec;
        try
        {
            spec = SpecHash.FromCanonical(json);
        }
        catch (JsonException ex)
        {
            throw new PipelineFailedException($"the pipeline's spec '{blobName}' is not a spec: {ex.Message}");
        }

        return spec is not null && SpecHash.Compute(spec) == hash
            ? spec
            : throw new PipelineFailedException($"the pipeline's spec '{blobName}' does not hash to its name: it was changed after the pipeline started");
    }
}

/// <summary>
/// What an orchestration keeps of a spec: everything but the per-member lists (explicit member settings, the search
/// space, the learning-rate list), which only the activities that plan jobs need and read from the stored spec. The
/// outline decides the number of jobs, the stages, the bounds, the merge, the stop rule and the splits.
/// </summary>
public static class SpecOutline
{
    /// <summary>The outline of <paramref name="spec"/>.</summary>
    public static PipelineSpec Of(PipelineSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec with { Members = spec.Members with { Explicit = null, Search = null, LearningRates = null } };
    }
}
