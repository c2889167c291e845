using Soup.Core.Jobs;

namespace Soup.Training.Data;

/// <summary>Loads the selected parts of the domains of an image-folder dataset (<see cref="ImageFolderIndex"/>).</summary>
internal static class FolderLoader
{
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
        return new FolderImages(
            selected.Select(s => s.Image).ToArray(), selected.Select(s => s.Label).ToArray(), imageSize, index.Classes.Count, ImageStatistics.ImageNet);
    }
}
