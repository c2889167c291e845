using SkiaSharp;
using Soup.Core.Jobs;
using static TorchSharp.torch;
using Soup.Training.Data;
using Soup.Training.Models;

namespace Soup.Training.Tests;

/// <summary>
/// A tiny image-folder dataset: domain "art" has classes cat, dog, horse and domain "photo" dog, horse, zebra, so the
/// class list is cat, dog, horse, zebra; each class folder holds two solid-colour PNGs and one JPEG of 40×30 pixels.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class FolderLoaderTests : IDisposable
{
    private const int Size = 32;
    private static readonly string[] Classes = ["cat", "dog", "horse", "zebra"];
    private readonly TempFolder _folder = new();

    public FolderLoaderTests()
    {
        WriteDomain("art", ["cat", "dog", "horse"]);
        WriteDomain("photo", ["dog", "horse", "zebra"]);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Load_OneDomain_LabelsIndexTheClassesOfAllDomains()
    {
        using var photo = DatasetLoader.Load(Folders(DataParts.All, "photo"), _folder.Path, Size);
        using var art = DatasetLoader.Load(Folders(DataParts.All, "art"), _folder.Path, Size);

        Assert.Equal(new ModelShape(3, Size, Size, 4), photo.Shape);
        Assert.Equal(new ModelShape(3, Size, Size, 4), art.Shape);
        Assert.Equal([1L, 2L, 3L], Labels(photo).Distinct().Order());
        Assert.Equal([0L, 1L, 2L], Labels(art).Distinct().Order());
    }

    [Fact]
    public void Batch_EvaluationView_IsImageNetNormalisedColour()
    {
        using var data = DatasetLoader.Load(Folders(DataParts.All, "photo"), _folder.Path, Size);
        var labels = Labels(data);
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var expected = Enumerable.Range(0, 2)
            .Select(image => ClassColour(3, image))
            .Select(c => new[] { c.Red, c.Green, c.Blue }.Select((v, ch) => ((v / 255f) - mean[ch]) / std[ch]).ToArray())
            .ToList();

        var (images, _) = data.Batch(Enumerable.Range(0, data.Count).Where(i => labels[i] == 3).Select(i => (long)i).ToArray(), null);
        using (images)
        {
            // The two PNGs of class zebra decode exactly; the JPEG only nearly.
            var matched = 0;
            for (var i = 0; i < images.shape[0]; i++)
            {
                var values = Enumerable.Range(0, 3).Select(c => images[i, c].data<float>().ToArray()).ToArray();
                var colour = expected.FirstOrDefault(e => Math.Abs(e[2] - values[2][0]) < 1e-4);
                if (colour is null)
                    continue;
                matched++;
                for (var c = 0; c < 3; c++)
                    Assert.All(values[c], v => Assert.Equal(colour[c], v, 4));
            }
            Assert.Equal(2, matched);
        }
    }

    [Fact]
    public void Batch_Augmented_IsReproducibleForASeedAndShapedLikeEvaluation()
    {
        using var data = DatasetLoader.Load(Folders(DataParts.In, "art", "photo"), _folder.Path, Size);
        long[] indices = [0, 1, 2, 3, 4];

        var (first, firstLabels) = data.Batch(indices, new Random(5));
        var (again, _) = data.Batch(indices, new Random(5));
        var (other, _) = data.Batch(indices, new Random(6));
        var (plain, _) = data.Batch(indices, null);
        using var disposables = new DisposableList(first, firstLabels, again, other, plain);

        Assert.Equal(new long[] { 5, 3, Size, Size }, first.shape);
        Assert.Equal(ScalarType.Float32, first.dtype);
        Assert.Equal(ScalarType.Int64, firstLabels.dtype);
        Assert.Equal(first.data<float>().ToArray(), again.data<float>().ToArray());
        Assert.NotEqual(first.data<float>().ToArray(), other.data<float>().ToArray());
        Assert.NotEqual(first.data<float>().ToArray(), plain.data<float>().ToArray());
    }

    [Fact]
    public void Batch_Twice_LeavesTheFirstBatchUnchanged()
    {
        using var data = DatasetLoader.Load(Folders(DataParts.All, "art"), _folder.Path, Size);
        var (first, firstLabels) = data.Batch([0, 1], null);
        var before = first.data<float>().ToArray();

        var (second, secondLabels) = data.Batch([2, 3], new Random(1));
        using var disposables = new DisposableList(first, firstLabels, second, secondLabels);

        Assert.Equal(before, first.data<float>().ToArray());
    }

    [Fact]
    public void Load_InAndOut_SplitEachDomain()
    {
        var inRef = Folders(DataParts.In, "art", "photo");
        inRef.HoldoutFraction = 1.0 / 3;
        var outRef = Folders(DataParts.Out, "art", "photo");
        outRef.HoldoutFraction = 1.0 / 3;

        using var inPart = DatasetLoader.Load(inRef, _folder.Path, Size);
        using var outPart = DatasetLoader.Load(outRef, _folder.Path, Size);

        Assert.Equal((12, 6), (inPart.Count, outPart.Count));
    }

    [Fact]
    public void Load_UnreadableImage_ThrowsNamingTheFile()
    {
        using var broken = new TempFolder();
        var path = Path.Combine(broken.Path, "d", "c", "broken.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "not an image");

        var error = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(Folders(DataParts.All, "d"), broken.Path, Size));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NoDomains_ThrowsListingTheDomains()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(Folders(DataParts.In), _folder.Path, Size));

        Assert.Contains("no domains selected: name at least one of art, photo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownDomain_ThrowsListingTheDomains()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(Folders(DataParts.In, "sketch"), _folder.Path, Size));

        Assert.Contains("'sketch'", error.Message, StringComparison.Ordinal);
        Assert.Contains("art, photo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFolder_ThrowsNamingIt()
    {
        var missing = Path.Combine(_folder.Path, "nope");

        var error = Assert.Throws<DirectoryNotFoundException>(() => DatasetLoader.Load(Folders(DataParts.In, "art"), missing, Size));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    private static long[] Labels(ILabelledImages data)
    {
        var (images, labels) = data.Batch(Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray(), null);
        using (images)
        using (labels)
            return labels.data<long>().ToArray();
    }

    private static DataRef Folders(string part, params string[] domains) => new()
    {
        Dataset = "tiny-folders",
        Layout = DataLayouts.Folders,
        Domains = domains,
        Part = part,
        SplitSeed = 1,
    };

    private static SKColor ClassColour(int label, int image) => new((byte)(40 + (50 * label)), (byte)(200 - (30 * label)), (byte)(90 + (20 * image)));

    private void WriteDomain(string domain, string[] classes)
    {
        foreach (var name in classes)
        {
            var label = Array.IndexOf(Classes, name);
            var classFolder = Path.Combine(_folder.Path, domain, name);
            Directory.CreateDirectory(classFolder);
            WriteImage(Path.Combine(classFolder, "a.png"), ClassColour(label, 0), SKEncodedImageFormat.Png);
            WriteImage(Path.Combine(classFolder, "b.PNG"), ClassColour(label, 1), SKEncodedImageFormat.Png);
            WriteImage(Path.Combine(classFolder, "c.jpg"), ClassColour(label, 2), SKEncodedImageFormat.Jpeg);
        }
    }

    private static void WriteImage(string path, SKColor colour, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(40, 30, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        bitmap.Erase(colour);
        using var file = File.Create(path);
        Assert.True(bitmap.Encode(file, format, 95));
    }

    private sealed class DisposableList(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
                item.Dispose();
        }
    }
}
