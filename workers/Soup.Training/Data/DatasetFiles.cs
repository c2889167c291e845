namespace Soup.Training.Data;

/// <summary>Finds the IDX files of the MNIST/Fashion-MNIST layout in a data folder.</summary>
internal static class DatasetFiles
{
    /// <summary>File name prefix of the training files.</summary>
    public const string TrainPrefix = "train";

    /// <summary>File name prefix of the test files.</summary>
    public const string TestPrefix = "t10k";

    private const string HowToGet =
        "Install Fashion-MNIST with `apt-get install dataset-fashion-mnist` (it lands in /usr/share/datasets/fashion-mnist) "
        + "or download the four files from https://github.com/zalandoresearch/fashion-mnist.";

    /// <summary>The paths of the image and label files with <paramref name="prefix"/>, each plain or gzipped.</summary>
    /// <exception cref="FileNotFoundException">The folder or a file is missing; the message names it and says how to get the data.</exception>
    public static (string Images, string Labels) Find(string root, string prefix)
    {
        if (!Directory.Exists(root))
            throw new FileNotFoundException($"Data folder '{Path.GetFullPath(root)}' does not exist. {HowToGet}", root);
        return (FindFile(root, $"{prefix}-images-idx3-ubyte"), FindFile(root, $"{prefix}-labels-idx1-ubyte"));
    }

    private static string FindFile(string root, string name)
    {
        var plain = Path.Combine(root, name);
        if (File.Exists(plain))
            return plain;
        var gzipped = plain + ".gz";
        if (File.Exists(gzipped))
            return gzipped;
        throw new FileNotFoundException(
            $"Data folder '{Path.GetFullPath(root)}' holds neither {name} nor {name}.gz. {HowToGet}", gzipped);
    }
}
