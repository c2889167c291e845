using static TorchSharp.torch;
using Soup.Training.Data;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class DatasetCatalogTests(TinyDataFixture tiny)
{
    [Fact]
    public void Load_TrainAndValidation_SplitTheTrainFiles()
    {
        using var train = DatasetCatalog.Load(tiny.Folder.Path, "train", null, 0.25, splitSeed: 3);
        using var validation = DatasetCatalog.Load(tiny.Folder.Path, "validation", null, 0.25, splitSeed: 3);

        Assert.Equal((450, 150), (train.Count, validation.Count));
        Assert.Equal(new long[] { 450, 1, 28, 28 }, train.Images.shape);
        Assert.Equal(ScalarType.Float32, train.Images.dtype);
        Assert.Equal(new long[] { 150 }, validation.Labels.shape);
        Assert.Equal(ScalarType.Int64, validation.Labels.dtype);
    }

    [Fact]
    public void SplitIndices_PartitionAllExamples()
    {
        var train = DatasetCatalog.SplitIndices(600, validation: false, 0.1, splitSeed: 5);
        var validation = DatasetCatalog.SplitIndices(600, validation: true, 0.1, splitSeed: 5);

        Assert.Equal(540, train.Length);
        Assert.Equal(60, validation.Length);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Enumerable.Range(0, 600), train.Concat(validation).Order());
    }

    [Fact]
    public void SplitIndices_SameSeed_SameSplit_OtherSeed_OtherSplit()
    {
        var first = DatasetCatalog.SplitIndices(600, validation: true, 0.1, splitSeed: 5);
        var again = DatasetCatalog.SplitIndices(600, validation: true, 0.1, splitSeed: 5);
        var other = DatasetCatalog.SplitIndices(600, validation: true, 0.1, splitSeed: 6);

        Assert.Equal(first, again);
        Assert.NotEqual(first.Order(), other.Order());
    }

    [Fact]
    public void Load_SameSeedTwice_GivesEqualTensors()
    {
        using var first = DatasetCatalog.Load(tiny.Folder.Path, "validation", null, 0.2, splitSeed: 9);
        using var again = DatasetCatalog.Load(tiny.Folder.Path, "validation", null, 0.2, splitSeed: 9);

        Assert.Equal(first.Images.data<float>().ToArray(), again.Images.data<float>().ToArray());
        Assert.Equal(first.Labels.data<long>().ToArray(), again.Labels.data<long>().ToArray());
    }

    [Fact]
    public void Load_Limit_TakesTheFirstExamplesOfTheSplit()
    {
        using var all = DatasetCatalog.Load(tiny.Folder.Path, "train", null, 0.2, splitSeed: 9);
        using var limited = DatasetCatalog.Load(tiny.Folder.Path, "train", 50, 0.2, splitSeed: 9);

        Assert.Equal(50, limited.Count);
        Assert.Equal(all.Labels.data<long>().ToArray()[..50], limited.Labels.data<long>().ToArray());
        Assert.Equal(all.Images.data<float>().ToArray()[..(50 * 28 * 28)], limited.Images.data<float>().ToArray());
    }

    [Fact]
    public void Load_Test_ReadsT10kFilesInOrder()
    {
        var labels = IdxReader.ReadLabels(Path.Combine(tiny.Folder.Path, "t10k-labels-idx1-ubyte")).ToArray();

        using var test = DatasetCatalog.Load(tiny.Folder.Path, "test", null, 0.5, splitSeed: 1);

        Assert.Equal(labels.Select(l => (long)l), test.Labels.data<long>().ToArray());
    }

    [Fact]
    public void Load_NormalizationNone_KeepsPixelsInUnitRange()
    {
        using var data = DatasetCatalog.Load(tiny.Folder.Path, "test", 20, 0, 1, ImageNormalization.None);

        Assert.InRange(data.Images.min().item<float>(), 0f, 1f);
        Assert.InRange(data.Images.max().item<float>(), 0.5f, 1f);
    }

    [Fact]
    public void Load_MissingFolder_ThrowsNamingPathAndHowToGetData()
    {
        var missing = Path.Combine(Path.GetTempPath(), "soup-no-such-folder-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Load(missing, "train", null, 0.1, 1));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message, StringComparison.Ordinal);
        Assert.Contains("https://github.com/zalandoresearch/fashion-mnist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingLabelFile_ThrowsNamingFile()
    {
        using var folder = new TempFolder();
        IdxWriter.WriteImages(folder.File("t10k-images-idx3-ubyte.gz"), new IdxImages(1, 28, 28, new byte[28 * 28]));

        var error = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Load(folder.Path, "test", null, 0, 1));

        Assert.Contains("t10k-labels-idx1-ubyte", error.Message, StringComparison.Ordinal);
        Assert.Contains(folder.Path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LabelCountDiffers_ThrowsNamingBothFiles()
    {
        using var folder = new TempFolder();
        IdxWriter.WriteImages(folder.File("t10k-images-idx3-ubyte"), new IdxImages(2, 28, 28, new byte[2 * 28 * 28]));
        IdxWriter.WriteLabels(folder.File("t10k-labels-idx1-ubyte"), [1, 2, 3]);

        var error = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load(folder.Path, "test", null, 0, 1));

        Assert.Contains("t10k-images-idx3-ubyte", error.Message, StringComparison.Ordinal);
        Assert.Contains("t10k-labels-idx1-ubyte", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownSplit_ThrowsListingSplits()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load(tiny.Folder.Path, "dev", null, 0.1, 1));

        Assert.Contains("validation", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_All_IsTheWholePermutationValidationFirst()
    {
        using var all = DatasetCatalog.Load(tiny.Folder.Path, DatasetCatalog.AllSplit, null, 0.25, splitSeed: 3);
        using var validation = DatasetCatalog.Load(tiny.Folder.Path, DatasetCatalog.ValidationSplit, null, 0.25, splitSeed: 3);
        using var train = DatasetCatalog.Load(tiny.Folder.Path, DatasetCatalog.TrainSplit, null, 0.25, splitSeed: 3);

        Assert.Equal(600, all.Count);
        Assert.Equal(
            validation.Labels.data<long>().ToArray().Concat(train.Labels.data<long>().ToArray()),
            all.Labels.data<long>().ToArray());
    }
}
