using Soup.Training.Data;
namespace Soup.Training.Tests;

public sealed class RotatedDomainsTests
{
    [Fact]
    public void SliceIndices_SixSlices_AreDisjointCoveringAndNearlyEqual()
    {
        var slices = Enumerable.Range(0, 6).Select(d => RotatedDomains.SliceIndices(800, splitSeed: 4, d)).ToList();

        Assert.Equal(Enumerable.Range(0, 800), slices.SelectMany(s => s).Order());
        Assert.All(slices, s => Assert.InRange(s.Length, 133, 134));
    }

    [Fact]
    public void SliceIndices_SameSeed_Same_OtherSeed_Other()
    {
        Assert.Equal(RotatedDomains.SliceIndices(800, 4, 2), RotatedDomains.SliceIndices(800, 4, 2));
        Assert.NotEqual(RotatedDomains.SliceIndices(800, 4, 2), RotatedDomains.SliceIndices(800, 5, 2));
    }

    [Fact]
    public void IndexOf_UnknownDomain_ThrowsListingKnown()
    {
        var error = Assert.Throws<ArgumentException>(() => RotatedDomains.IndexOf("90"));

        Assert.Contains("0, 15, 30, 45, 60, 75", error.Message, StringComparison.Ordinal);
    }
}
