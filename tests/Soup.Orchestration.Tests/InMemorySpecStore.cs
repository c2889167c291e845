using System.Collections.Concurrent;
using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>The spec store of the in-memory harness: the same hashing, checks and failure as the blob store, in a dictionary.</summary>
internal sealed class InMemorySpecStore : ISpecStore
{
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    /// <summary>The stored blobs' names.</summary>
    public IReadOnlyCollection<string> BlobNames => [.. _blobs.Keys.Select(BlobSpecStore.BlobName)];

    /// <summary>How many times a spec was written (a second put of the same spec writes nothing).</summary>
    public int Writes { get; private set; }

    public Task<string> PutAsync(PipelineSpec spec, CancellationToken cancellationToken = default)
    {
        var hash = SpecHash.Compute(spec);
        if (_blobs.TryAdd(hash, SpecHash.Canonical(spec)))
            Writes++;
        return Task.FromResult(hash);
    }

    public Task<PipelineSpec> GetAsync(string hash, CancellationToken cancellationToken = default) =>
        _blobs.TryGetValue(hash, out var json)
            ? Task.FromResult(SpecStores.Read(hash, json, BlobSpecStore.BlobName(hash)))
            : throw SpecStores.Missing(BlobSpecStore.BlobName(hash), "in-memory");

    /// <summary>Deletes a stored spec (a test of a spec blob gone missing).</summary>
    public void Delete(string hash) => _blobs.TryRemove(hash, out _);
}
