using Soup.Core.Jobs;

namespace Soup.Training.Data;

/// <summary>Loads the selected parts of rotated domains (<see cref="RotatedDomains"/>) as normalised grayscale images.</summary>
internal static class RotatedLoader
{
    public static ImageClassificationData Load(DataRef data, string folder)
    {
        if (data.Domains is not { Count: > 0 } domains)
            throw DatasetLoader.NoDomains(data, RotatedDomains.Known);
        var unknown = domains.FirstOrDefault(d => !RotatedDomains.Known.Contains(d));
        if (unknown is not null)
            throw DatasetLoader.UnknownDomain(data, unknown, RotatedDomains.Known);

        var parts = domains.Select(domain =>
        {
            var built = RotatedDomains.Get(folder, data.SplitSeed, domain);
            return (Domain: built, Indices: DomainSplit.Select(built.Count, domain, data.Part, data.HoldoutFraction, data.SplitSeed, data.Limit));
        }).ToList();
        var (rows, columns) = (parts[0].Domain.Rows, parts[0].Domain.Columns);
        var size = rows * columns;
        var count = parts.Sum(p => p.Indices.Length);
        var pixels = new byte[(long)count * size];
        var labels = new byte[count];
        var at = 0;
        foreach (var (domain, indices) in parts)
        {
            foreach (var index in indices)
            {
                domain.Pixels.AsSpan(index * size, size).CopyTo(pixels.AsSpan(at * size, size));
                labels[at++] = domain.Labels[index];
            }
        }
        return ImageClassificationData.FromIdx(new IdxImages(count, rows, columns, pixels), labels, ImageNormalization.FashionMnist);
    }
}
