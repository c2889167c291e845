using Soup.Training.Models;
namespace Soup.Training.Data;

/// <summary>
/// Writes a small synthetic, easily learnable data set in the MNIST file layout, for tests: each of the 10 classes is a
/// bright 5×8 block at its own place on a 5×2 grid, shifted by up to a pixel, on a noisy dark background.
/// </summary>
public static class TinyIdxDataset
{
    private const int Size = SmallCnn.ImageSize;
    private const int BlockWidth = 5;
    private const int BlockHeight = 8;

    /// <summary>Writes train-/t10k- images-idx3-ubyte and labels-idx1-ubyte (uncompressed) into <paramref name="folder"/>, creating it.</summary>
    /// <param name="folder">Destination folder.</param>
    /// <param name="trainCount">Number of training examples.</param>
    /// <param name="testCount">Number of test examples.</param>
    /// <param name="seed">Seed of labels and noise; the same seed writes the same files.</param>
    public static void Write(string folder, int trainCount, int testCount, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trainCount);
        ArgumentOutOfRangeException.ThrowIfNegative(testCount);
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        WriteSplit(folder, DatasetFiles.TrainPrefix, trainCount, random);
        WriteSplit(folder, DatasetFiles.TestPrefix, testCount, random);
    }

    private static void WriteSplit(string folder, string prefix, int count, Random random)
    {
        var pixels = new byte[count * Size * Size];
        var labels = new byte[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = (byte)random.Next(SmallCnn.ClassCount);
            Draw(pixels.AsSpan(i * Size * Size, Size * Size), labels[i], random);
        }
        IdxWriter.WriteImages(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), new IdxImages(count, Size, Size, pixels));
        IdxWriter.WriteLabels(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), labels);
    }

    private static void Draw(Span<byte> image, int label, Random random)
    {
        for (var p = 0; p < image.Length; p++)
            image[p] = (byte)random.Next(80);
        var left = 1 + (BlockWidth * (label % 5)) + random.Next(-1, 2);
        var top = 3 + (12 * (label / 5)) + random.Next(-1, 2);
        for (var y = Math.Max(0, top); y < Math.Min(Size, top + BlockHeight); y++)
        {
            for (var x = Math.Max(0, left); x < Math.Min(Size, left + BlockWidth); x++)
                image[(y * Size) + x] = (byte)random.Next(160, 256);
        }
    }
}
