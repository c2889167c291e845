using Soup.Core.Jobs;
using Soup.Training.Data;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class DatasetLoaderTests(TinyDataFixture tiny)
{
    [Fact]
    public void Load_IdxParts_MatchTheCatalogSplits()
    {
        using var inPart = DatasetLoader.Load(Idx(DataParts.In), tiny.Folder.Path);
        using var outPart = (ImageClassificationData)DatasetLoader.Load(Idx(DataParts.Out), tiny.Folder.Path);
        using var all = (ImageClassificationData)DatasetLoader.Load(Idx(DataParts.All), tiny.Folder.Path);
        using var test = DatasetLoader.Load(Idx(DataParts.Test), tiny.Folder.Path);
        using var validation = DatasetCatalog.Load(tiny.Folder.Path, DatasetCatalog.ValidationSplit, null, 0.2, splitSeed: 4);

        Assert.Equal((480, 120, 600, 200), (inPart.Count, outPart.Count, all.Count, test.Count));
        Assert.Equal(ModelShape.Mnist, inPart.Shape);
        Assert.Equal(validation.Labels.data<long>().ToArray(), outPart.Labels.data<long>().ToArray());
        Assert.Equal(outPart.Labels.data<long>().ToArray(), all.Labels.data<long>().ToArray()[..120]);
    }

    [Fact]
    public void Load_IdxWithDomains_Throws()
    {
        var data = Idx(DataParts.In);
        data.Domains = ["0"];

        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("idx layout has no domains", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DataLayouts.Idx)]
    [InlineData(DataLayouts.Rotated)]
    public void Load_MissingIdxFolder_ThrowsSayingHowToGetFashionMnist(string layout)
    {
        var missing = Path.Combine(Path.GetTempPath(), "soup-no-such-folder-" + Guid.NewGuid().ToString("N"));
        var data = Idx(DataParts.In);
        data.Layout = layout;
        data.Domains = layout == DataLayouts.Rotated ? ["0"] : null;

        var error = Assert.Throws<FileNotFoundException>(() => DatasetLoader.Load(data, missing));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RotatedWithoutDomains_ThrowsListingTheKnownOnes()
    {
        var data = Idx(DataParts.In);
        data.Layout = DataLayouts.Rotated;
        data.Domains = [];

        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("no domains selected: name at least one of 0, 15, 30, 45, 60, 75", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RotatedUnknownDomain_ThrowsListingTheKnownOnes()
    {
        var data = Idx(DataParts.In);
        data.Layout = DataLayouts.Rotated;
        data.Domains = ["0", "90"];

        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("unknown domain '90'", error.Message, StringComparison.Ordinal);
        Assert.Contains("0, 15, 30, 45, 60, 75", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DataLayouts.Rotated)]
    [InlineData(DataLayouts.Folders)]
    public void Load_TestPartWithDomains_Throws(string layout)
    {
        var data = Idx(DataParts.Test);
        data.Layout = layout;
        data.Domains = ["0"];

        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("part 'test' exists only in the idx layout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownLayout_ThrowsListingLayouts()
    {
        var data = Idx(DataParts.In);
        data.Layout = "csv";

        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("unknown layout 'csv'", error.Message, StringComparison.Ordinal);
        Assert.Contains("idx, rotated, folders", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownPart_ThrowsListingParts()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(Idx("train"), tiny.Folder.Path));

        Assert.Contains("unknown part 'train'", error.Message, StringComparison.Ordinal);
        Assert.Contains("in, out, all, test", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Load_HoldoutOutsideUnitInterval_Throws(double fraction)
    {
        var data = Idx(DataParts.In);
        data.HoldoutFraction = fraction;

        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("holdout fraction must be in [0, 1)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptySelection_ThrowsNamingIt()
    {
        var data = Idx(DataParts.Out);
        data.HoldoutFraction = 0;

        var error = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("selects no examples", error.Message, StringComparison.Ordinal);
        Assert.Contains("'tiny'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DomainTwice_Throws()
    {
        var data = Idx(DataParts.In);
        data.Layout = DataLayouts.Rotated;
        data.Domains = ["15", "15"];

        var error = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(data, tiny.Folder.Path));

        Assert.Contains("'15' is selected more than once", error.Message, StringComparison.Ordinal);
    }

    private static DataRef Idx(string part) => new() { Dataset = "tiny", Part = part, SplitSeed = 4 };
}
