using Soup.Training.FineTuning;
namespace Soup.Training.Tests;

public sealed class BatchSamplerTests
{
    [Fact]
    public void Indices_EachEpoch_IsAPermutationMinusTheIncompleteBatch()
    {
        var sampler = new BatchSampler(count: 10, batchSize: 3, seed: 1);

        var epoch = Enumerable.Range(1, 3).SelectMany(sampler.Indices).ToList();

        Assert.Equal(9, epoch.Distinct().Count());
        Assert.All(epoch, i => Assert.InRange(i, 0, 9));
    }

    [Fact]
    public void Indices_AnyStep_IsTheSameWithoutTheStepsBefore()
    {
        var sequential = new BatchSampler(100, 7, seed: 3);
        var expected = Enumerable.Range(1, 50).Select(sequential.Indices).ToList();

        var jumping = new BatchSampler(100, 7, seed: 3);

        foreach (var step in new[] { 49, 2, 30, 15, 50, 1 })
            Assert.Equal(expected[step - 1], jumping.Indices(step));
    }

    [Fact]
    public void Indices_EpochsAndSeeds_Differ()
    {
        var sampler = new BatchSampler(100, 50, seed: 3);
        var other = new BatchSampler(100, 50, seed: 4);

        Assert.NotEqual(sampler.Indices(1), sampler.Indices(3));
        Assert.NotEqual(sampler.Indices(1), other.Indices(1));
    }
}
