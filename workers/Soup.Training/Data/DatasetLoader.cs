using Soup.Core.Jobs;

namespace Soup.Training.Data;

/// <summary>Loads the data a job reads (<see cref="DataRef"/>) from a local folder, for each of <see cref="DataLayouts"/>.</summary>
public static class DatasetLoader
{
    /// <summary>
    /// Loads the selected domains and part of the dataset in <paramref name="folder"/>. IDX: "in"/"out" are the
    /// train files without/with only the held-out fraction, "all" the whole train files, "test" the t10k files.
    /// Rotated and folders: each domain is split into in/out by a permutation seeded with the split seed and the domain,
    /// the limit applies per domain, and the domains are concatenated in the order given.
    /// </summary>
    /// <param name="data">What to read; its <see cref="DataRef.Dataset"/> only names it in messages.</param>
    /// <param name="folder">The dataset's local folder.</param>
    /// <param name="imageSize">The side images of the folders layout are resized to (IDX images keep their size).</param>
    /// <exception cref="ArgumentException">The layout, part, domains, limit or holdout fraction is not valid.</exception>
    /// <exception cref="FileNotFoundException">An IDX folder or file is missing.</exception>
    /// <exception cref="DirectoryNotFoundException">An image-folder dataset's folder is missing.</exception>
    /// <exception cref="InvalidDataException">A file is unreadable, or the selection holds no examples.</exception>
    public static ILabelledImages Load(DataRef data, string folder, int imageSize = 224)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageSize);
        Validate(data);
        ILabelledImages loaded = data.Layout switch
        {
            DataLayouts.Idx => LoadIdx(data, folder),
            DataLayouts.Rotated => RotatedLoader.Load(data, folder),
            _ => FolderLoader.Load(data, folder, imageSize),
        };
        if (loaded.Count > 0)
            return loaded;
        loaded.Dispose();
        var domains = data.Domains is { Count: > 0 } ? $" domains {string.Join(", ", data.Domains)}," : "";
        throw new InvalidDataException(
            $"Dataset '{data.Dataset}' ({data.Layout},{domains} part {data.Part}, limit {data.Limit?.ToString() ?? "none"}, "
            + $"holdout {data.HoldoutFraction}) at '{Path.GetFullPath(folder)}' selects no examples.");
    }

    private static void Validate(DataRef data)
    {
        if (!DataLayouts.All.Contains(data.Layout))
            throw new ArgumentException($"Dataset '{data.Dataset}': unknown layout '{data.Layout}'. Known layouts: {string.Join(", ", DataLayouts.All)}.", nameof(data));
        if (!DataParts.Every.Contains(data.Part))
            throw new ArgumentException($"Dataset '{data.Dataset}': unknown part '{data.Part}'. Known parts: {string.Join(", ", DataParts.Every)}.", nameof(data));
        if (!(data.HoldoutFraction >= 0 && data.HoldoutFraction < 1))
            throw new ArgumentException($"Dataset '{data.Dataset}': the holdout fraction must be in [0, 1), was {data.HoldoutFraction}.", nameof(data));
        if (data.Limit < 0)
            throw new ArgumentException($"Dataset '{data.Dataset}': the limit must not be negative, was {data.Limit}.", nameof(data));
        if (data.Layout == DataLayouts.Idx && data.Domains is { Count: > 0 })
            throw new ArgumentException($"Dataset '{data.Dataset}': the idx layout has no domains, but domains {string.Join(", ", data.Domains)} were given.", nameof(data));
        if (data.Layout != DataLayouts.Idx && data.Part == DataParts.Test)
            throw new ArgumentException(
                $"Dataset '{data.Dataset}': part '{DataParts.Test}' exists only in the idx layout; a {data.Layout} dataset splits each domain into "
                + $"{DataParts.In}, {DataParts.Out} and {DataParts.All} (hold a domain out to test on it).", nameof(data));
        var repeated = data.Domains?.GroupBy(d => d, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"Dataset '{data.Dataset}': domain '{repeated.Key}' is selected more than once.", nameof(data));
    }

    /// <summary>The error for a rotated or folders dataset with no domains selected.</summary>
    internal static ArgumentException NoDomains(DataRef data, IEnumerable<string> known) => new(
        $"Dataset '{data.Dataset}' ({data.Layout}): no domains selected: name at least one of {string.Join(", ", known)}.", nameof(data));

    /// <summary>The error for a domain the dataset does not have.</summary>
    internal static ArgumentException UnknownDomain(DataRef data, string domain, IEnumerable<string> known) => new(
        $"Dataset '{data.Dataset}' ({data.Layout}): unknown domain '{domain}'. Known domains: {string.Join(", ", known)}.", nameof(data));

    private static ImageClassificationData LoadIdx(DataRef data, string folder)
    {
        var split = data.Part switch
        {
            DataParts.In => DatasetCatalog.TrainSplit,
            DataParts.Out => DatasetCatalog.ValidationSplit,
            DataParts.All => DatasetCatalog.AllSplit,
            _ => DatasetCatalog.TestSplit,
        };
        return DatasetCatalog.Load(folder, split, data.Limit, data.HoldoutFraction, data.SplitSeed);
    }
}
