using Soup.Core.Jobs;
using Soup.Training.Data;

namespace Soup.Training.Tests;

public sealed class DomainSplitTests
{
    [Fact]
    public void Select_InAndOut_AreDisjointAndMakeAll()
    {
        var inPart = DomainSplit.Select(134, "15", DataParts.In, 0.2, splitSeed: 3, limit: null);
        var outPart = DomainSplit.Select(134, "15", DataParts.Out, 0.2, splitSeed: 3, limit: null);
        var all = DomainSplit.Select(134, "15", DataParts.All, 0.2, splitSeed: 3, limit: null);

        Assert.Equal((107, 27), (inPart.Length, outPart.Length));
        Assert.Empty(inPart.Intersect(outPart));
        Assert.Equal(all, outPart.Concat(inPart));
        Assert.Equal(Enumerable.Range(0, 134), all.Order());
    }

    [Fact]
    public void Select_SameSeed_Same_OtherSeedOrDomain_Other()
    {
        var first = DomainSplit.Select(100, "0", DataParts.Out, 0.3, splitSeed: 1, limit: null);

        Assert.Equal(first, DomainSplit.Select(100, "0", DataParts.Out, 0.3, splitSeed: 1, limit: null));
        Assert.NotEqual(first, DomainSplit.Select(100, "0", DataParts.Out, 0.3, splitSeed: 2, limit: null));
        Assert.NotEqual(first, DomainSplit.Select(100, "15", DataParts.Out, 0.3, splitSeed: 1, limit: null));
    }

    [Fact]
    public void Select_Limit_TakesTheFirstOfThePart()
    {
        var all = DomainSplit.Select(100, "a", DataParts.In, 0.2, splitSeed: 1, limit: null);

        Assert.Equal(all[..7], DomainSplit.Select(100, "a", DataParts.In, 0.2, splitSeed: 1, limit: 7));
        Assert.Equal(all, DomainSplit.Select(100, "a", DataParts.In, 0.2, splitSeed: 1, limit: 1000));
    }

    [Fact]
    public void DomainSeed_IsStable()
    {
        Assert.Equal(DomainSplit.DomainSeed(5, "photo"), DomainSplit.DomainSeed(5, "photo"));
        Assert.NotEqual(DomainSplit.DomainSeed(5, "photo"), DomainSplit.DomainSeed(5, "art"));
    }
}
