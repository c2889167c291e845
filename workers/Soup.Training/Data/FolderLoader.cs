using Soup.Core.Jobs;
using static TorchSharp.torch;

namespace Soup.Training;

/// <summary>Loads the selected parts of the domains of an image-folder dataset (<see cref="ImageFolderIndex"/>).</summary>
internal static class FolderLoader
{
    // Images are copied into tensors a chunk at a time: one managed array may not exceed 2 GB.
    private const int ImagesPerChunk = 4096;

    public static FolderImages Load(DataRef data, string folder, int imageSize)
    {
        var index = ImageFolderIndex.Scan(folder);
        if (data.Domains is not { Count: > 0 } domains)
            throw DatasetLoader.NoDomains(data, index.Domains);
        var unknown = domains.FirstOrDefault(d => !index.Domains.Contains(d, StringComparer.Ordinal));
        if (unknown is not null)
            throw DatasetLoader.UnknownDomain(data, unknown, index.Domains);

        var parts = domains.Select(domain =>
        {
            var decoded = ImageFolderCache.Get(index, domain, imageSize);
            return (Domain: decoded, Indices: DomainSplit.Select(decoded.Count, domain, data.Part, data.HoldoutFraction, data.SplitSeed, data.Limit));
        }).ToList();
        var selected = parts.SelectMany(p => p.Indices.Select(i => (Image: p.Domain.Images[i], Label: p.Domain.Labels[i]))).ToList();
        TorchSetup.Initialize();
        using var scope = NewDisposeScope();
        var pixels = selected.Count == 0
            ? zeros([0, 3, imageSize, imageSize], ScalarType.Byte)
            : cat(selected.Chunk(ImagesPerChunk).Select(chunk => Stack(chunk.Select(c => c.Image).ToArray(), imageSize)).ToList(), 0);
        var labels = tensor(selected.Select(s => s.Label).ToArray(), [selected.Count]);
        return new FolderImages(pixels.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), index.Classes.Count, ImageStatistics.ImageNet);
    }

    private static Tensor Stack(byte[][] images, int imageSize)
    {
        var size = images[0].Length;
        var pixels = new byte[(long)images.Length * size];
        for (var i = 0; i < images.Length; i++)
            images[i].CopyTo(pixels, (long)i * size);
        return tensor(pixels, [images.Length, 3, imageSize, imageSize]);
    }
}
