using Soup.Core.Jobs;
using Soup.Training.Data;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class RotatedLoaderTests(TinyDataFixture tiny)
{
    [Fact]
    public void Get_DomainZero_IsItsSliceOfTrainThenTestUnrotated()
    {
        var train = IdxReader.ReadImages(Path.Combine(tiny.Folder.Path, "train-images-idx3-ubyte"));
        var test = IdxReader.ReadImages(Path.Combine(tiny.Folder.Path, "t10k-images-idx3-ubyte"));
        var both = train.Pixels.ToArray().Concat(test.Pixels.ToArray()).ToArray();

        var domain = RotatedDomains.Get(tiny.Folder.Path, splitSeed: 2, "0");

        var indices = RotatedDomains.SliceIndices(800, splitSeed: 2, 0);
        Assert.Equal(indices.Length, domain.Count);
        Assert.Equal(indices.SelectMany(i => both.Skip(i * 784).Take(784)), domain.Pixels);
    }

    [Fact]
    public void Get_DomainFifteen_IsItsSliceRotatedByFifteenDegrees()
    {
        var train = IdxReader.ReadImages(Path.Combine(tiny.Folder.Path, "train-images-idx3-ubyte"));
        var first = RotatedDomains.SliceIndices(800, splitSeed: 2, 1).First(i => i < 600);
        var at = Array.IndexOf(RotatedDomains.SliceIndices(800, splitSeed: 2, 1), first);
        var expected = new byte[784];
        new ImageRotation(15, 28, 28).Rotate(train.Pixels.Span.Slice(first * 784, 784), expected);

        var domain = RotatedDomains.Get(tiny.Folder.Path, splitSeed: 2, "15");

        Assert.Equal(expected, domain.Pixels.AsSpan(at * 784, 784).ToArray());
    }

    [Fact]
    public void Load_InAndOut_HaveTheHoldoutSizesAndNormalisedPixels()
    {
        using var inPart = DatasetLoader.Load(Rotated(DataParts.In, "0"), tiny.Folder.Path);
        using var outPart = DatasetLoader.Load(Rotated(DataParts.Out, "0"), tiny.Folder.Path);
        using var all = (ImageClassificationData)DatasetLoader.Load(Rotated(DataParts.All, "0"), tiny.Folder.Path);

        Assert.Equal((107, 27, 134), (inPart.Count, outPart.Count, all.Count));
        Assert.Equal(ModelShape.Mnist, all.Shape);
        var domain = RotatedDomains.Get(tiny.Folder.Path, splitSeed: 2, "0");
        var firstAll = DomainSplit.Select(134, "0", DataParts.All, 0.2, 2, null)[0];
        var expected = domain.Pixels.AsSpan(firstAll * 784, 784).ToArray().Select(p => (float)(((p / 255.0) - 0.2860) / 0.3530));
        Assert.Equal(expected, all.Images[0].data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public void Load_TwoDomains_ConcatenatesInTheGivenOrder()
    {
        using var first = (ImageClassificationData)DatasetLoader.Load(Rotated(DataParts.In, "30"), tiny.Folder.Path);
        using var second = (ImageClassificationData)DatasetLoader.Load(Rotated(DataParts.In, "75"), tiny.Folder.Path);
        using var both = (ImageClassificationData)DatasetLoader.Load(Rotated(DataParts.In, "75", "30"), tiny.Folder.Path);

        Assert.Equal(
            second.Labels.data<long>().ToArray().Concat(first.Labels.data<long>().ToArray()),
            both.Labels.data<long>().ToArray());
        Assert.Equal(
            second.Images.data<float>().ToArray().Concat(first.Images.data<float>().ToArray()),
            both.Images.data<float>().ToArray());
    }

    [Fact]
    public void Load_Limit_AppliesPerDomain()
    {
        var data = Rotated(DataParts.In, "0", "45");
        data.Limit = 10;
        using var limited = (ImageClassificationData)DatasetLoader.Load(data, tiny.Folder.Path);
        using var whole = (ImageClassificationData)DatasetLoader.Load(Rotated(DataParts.In, "0"), tiny.Folder.Path);

        Assert.Equal(20, limited.Count);
        Assert.Equal(whole.Labels.data<long>().ToArray()[..10], limited.Labels.data<long>().ToArray()[..10]);
    }

    [Fact]
    public void Load_SameSeed_Same_OtherSeed_Other()
    {
        using var first = (ImageClassificationData)DatasetLoader.Load(Rotated(DataParts.Out, "60"), tiny.Folder.Path);
        using var again = (ImageClassificationData)DatasetLoader.Load(Rotated(DataParts.Out, "60"), tiny.Folder.Path);
        var otherSeed = Rotated(DataParts.Out, "60");
        otherSeed.SplitSeed = 3;
        using var other = (ImageClassificationData)DatasetLoader.Load(otherSeed, tiny.Folder.Path);

        Assert.Equal(first.Images.data<float>().ToArray(), again.Images.data<float>().ToArray());
        Assert.NotEqual(first.Images.data<float>().ToArray(), other.Images.data<float>().ToArray());
    }

    [Fact]
    public void Get_SameKeyTwice_ReturnsTheCachedDomain()
    {
        Assert.Same(RotatedDomains.Get(tiny.Folder.Path, 2, "45"), RotatedDomains.Get(tiny.Folder.Path, 2, "45"));
    }

    private static DataRef Rotated(string part, params string[] domains) => new()
    {
        Dataset = "tiny",
        Layout = DataLayouts.Rotated,
        Domains = domains,
        Part = part,
        SplitSeed = 2,
    };
}
