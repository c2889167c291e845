using System.Collections.Concurrent;
using System.Globalization;

namespace Soup.Training.Data;

/// <summary>
/// DomainBed's RotatedMNIST protocol on IDX files: the train and t10k images together, permuted with the split seed,
/// dealt into the six domains in turn (domain d takes permuted examples d, d + 6, d + 12, …: disjoint, covering, sizes
/// within one of each other), each rotated by its angle. Built domains are cached per process, keyed by the files'
/// paths and stamps, the seed and the domain, so the jobs of one worker build each domain once.
/// </summary>
internal static class RotatedDomains
{
    /// <summary>The domains, in order: rotations in degrees.</summary>
    public static IReadOnlyList<string> Known => Soup.Core.Jobs.DataLayouts.RotatedDomains;

    private static readonly ConcurrentDictionary<string, Lazy<RotatedDomain>> Cache = new(StringComparer.Ordinal);

    /// <summary>The domain named <paramref name="domain"/> (one of <see cref="Known"/>) of the IDX files in <paramref name="root"/>.</summary>
    /// <exception cref="FileNotFoundException">The folder or a file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or the files disagree.</exception>
    public static RotatedDomain Get(string root, int splitSeed, string domain)
    {
        var slice = IndexOf(domain);
        var train = DatasetFiles.Find(root, DatasetFiles.TrainPrefix);
        var test = DatasetFiles.Find(root, DatasetFiles.TestPrefix);
        var key = string.Join('|', Stamp(train.Images), Stamp(train.Labels), Stamp(test.Images), Stamp(test.Labels), splitSeed, domain);
        var entry = Cache.GetOrAdd(key, _ => new Lazy<RotatedDomain>(() => Build(train, test, splitSeed, slice)));
        try
        {
            return entry.Value;
        }
        catch
        {
            Cache.TryRemove(new KeyValuePair<string, Lazy<RotatedDomain>>(key, entry));
            throw;
        }
    }

    /// <summary>The position of a domain in <see cref="Known"/>.</summary>
    /// <exception cref="ArgumentException">The domain is not known; the message lists the known ones.</exception>
    public static int IndexOf(string domain)
    {
        for (var i = 0; i < Known.Count; i++)
        {
            if (Known[i] == domain)
                return i;
        }
        throw new ArgumentException($"Unknown rotated domain '{domain}'. Known domains: {string.Join(", ", Known)}.", nameof(domain));
    }

    /// <summary>Which examples of the train files followed by the t10k files each domain takes, in order.</summary>
    internal static int[] SliceIndices(int total, int splitSeed, int slice)
    {
        var permutation = Enumerable.Range(0, total).ToArray();
        SeededShuffle.Shuffle(permutation, new Random(splitSeed));
        var count = (total - slice + Known.Count - 1) / Known.Count;
        var indices = new int[count];
        for (var i = 0; i < count; i++)
            indices[i] = permutation[slice + (i * Known.Count)];
        return indices;
    }

    private static RotatedDomain Build((string Images, string Labels) train, (string Images, string Labels) test, int splitSeed, int slice)
    {
        var trainImages = IdxFileCache.Images(train.Images);
        var trainLabels = IdxFileCache.Labels(train.Labels);
        var testImages = IdxFileCache.Images(test.Images);
        var testLabels = IdxFileCache.Labels(test.Labels);
        DatasetCatalog.Validate(trainImages, train.Images, trainLabels.Span, train.Labels);
        DatasetCatalog.Validate(testImages, test.Images, testLabels.Span, test.Labels);

        var indices = SliceIndices(trainImages.Count + testImages.Count, splitSeed, slice);
        var size = trainImages.PixelsPerImage;
        var rotation = new ImageRotation(double.Parse(Known[slice], CultureInfo.InvariantCulture), trainImages.Rows, trainImages.Columns);
        var pixels = new byte[(long)indices.Length * size];
        var labels = new byte[indices.Length];
        Parallel.For(0, indices.Length, i =>
        {
            var index = indices[i];
            var (images, source, at) = index < trainImages.Count
                ? (trainImages, trainLabels, index)
                : (testImages, testLabels, index - trainImages.Count);
            rotation.Rotate(images.Pixels.Span.Slice(at * size, size), pixels.AsSpan(i * size, size));
            labels[i] = source.Span[at];
        });
        return new RotatedDomain(indices.Length, trainImages.Rows, trainImages.Columns, pixels, labels);
    }

    private static string Stamp(string path)
    {
        var info = new FileInfo(path);
        return $"{info.FullName}:{info.Length}:{info.LastWriteTimeUtc.Ticks}";
    }
}
