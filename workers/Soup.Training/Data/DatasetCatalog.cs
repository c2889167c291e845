using Soup.Training.Models;
namespace Soup.Training.Data;

/// <summary>Loads the splits of an MNIST-layout data folder (e.g. Fashion-MNIST) as tensors.</summary>
public static class DatasetCatalog
{
    /// <summary>The training part of the train files.</summary>
    public const string TrainSplit = "train";

    /// <summary>The held-out part of the train files.</summary>
    public const string ValidationSplit = "validation";

    /// <summary>The t10k files.</summary>
    public const string TestSplit = "test";

    /// <summary>The whole train files, in the permuted order the train/validation split cuts.</summary>
    public const string AllSplit = "all";

    /// <summary>
    /// Loads a split. "train" and "validation" partition the train files by a permutation seeded with
    /// <paramref name="splitSeed"/>: the first <c>round(N × validationFraction)</c> permuted examples are "validation", the
    /// rest "train", both in permuted order; "all" is the whole permutation. "test" is the t10k files in file order. Decoded files are cached per process.
    /// </summary>
    /// <param name="root">Folder holding train-/t10k- images-idx3-ubyte and labels-idx1-ubyte, each optionally .gz.</param>
    /// <param name="split">"train", "validation", "all" or "test".</param>
    /// <param name="limit">When set, only the first <paramref name="limit"/> examples of the split.</param>
    /// <param name="validationFraction">Share of the train files held out for validation, in [0, 1).</param>
    /// <param name="splitSeed">Seed of the train/validation permutation.</param>
    /// <param name="normalization">Pixel normalisation; Fashion-MNIST's statistics when null.</param>
    /// <exception cref="FileNotFoundException">The folder or a file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, the files disagree, or a label is not a class of the models.</exception>
    public static ImageClassificationData Load(
        string root, string split, int? limit, double validationFraction, int splitSeed, ImageNormalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(split);
        if (limit < 0)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "The limit must not be negative.");
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in [0, 1).");
        var prefix = split switch
        {
            TrainSplit or ValidationSplit or AllSplit => DatasetFiles.TrainPrefix,
            TestSplit => DatasetFiles.TestPrefix,
            _ => throw new ArgumentException($"Unknown split '{split}'. Known splits: {TrainSplit}, {ValidationSplit}, {AllSplit}, {TestSplit}.", nameof(split)),
        };

        var (imagesPath, labelsPath) = DatasetFiles.Find(root, prefix);
        var images = IdxFileCache.Images(imagesPath);
        var labels = IdxFileCache.Labels(labelsPath);
        Validate(images, imagesPath, labels.Span, labelsPath);

        var indices = split switch
        {
            TestSplit => Enumerable.Range(0, images.Count).ToArray(),
            AllSplit => Permutation(images.Count, splitSeed),
            _ => SplitIndices(images.Count, split == ValidationSplit, validationFraction, splitSeed),
        };
        if (limit < indices.Length)
            indices = indices[..limit.Value];
        return ImageClassificationData.FromIdx(images, labels.Span, indices, normalization ?? ImageNormalization.FashionMnist);
    }

    /// <summary>The train or validation indices of <paramref name="count"/> examples, in permuted order.</summary>
    internal static int[] SplitIndices(int count, bool validation, double validationFraction, int splitSeed)
    {
        var permutation = Permutation(count, splitSeed);
        var validationCount = (int)Math.Round(count * validationFraction, MidpointRounding.AwayFromZero);
        return validation ? permutation[..validationCount] : permutation[validationCount..];
    }

    private static int[] Permutation(int count, int splitSeed)
    {
        var permutation = Enumerable.Range(0, count).ToArray();
        SeededShuffle.Shuffle(permutation, new Random(splitSeed));
        return permutation;
    }

    /// <summary>Checks that the images suit the models and the labels match them.</summary>
    internal static void Validate(IdxImages images, string imagesPath, ReadOnlySpan<byte> labels, string labelsPath)
    {
        if (images.Rows != SmallCnn.ImageSize || images.Columns != SmallCnn.ImageSize)
            throw new InvalidDataException(
                $"{imagesPath}: images are {images.Rows}×{images.Columns}, the models take {SmallCnn.ImageSize}×{SmallCnn.ImageSize}.");
        if (labels.Length != images.Count)
            throw new InvalidDataException($"{labelsPath} holds {labels.Length} labels but {imagesPath} holds {images.Count} images.");
        var bad = labels.IndexOfAnyExceptInRange((byte)0, (byte)(SmallCnn.ClassCount - 1));
        if (bad >= 0)
            throw new InvalidDataException($"{labelsPath}: label {labels[bad]} at index {bad} is not a class 0..{SmallCnn.ClassCount - 1}.");
    }
}
