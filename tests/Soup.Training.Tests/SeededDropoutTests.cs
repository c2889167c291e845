using static TorchSharp.torch;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class SeededDropoutTests
{
    [Fact]
    public void Forward_SameGeneratorSeed_GivesSameMask()
    {
        using var first = new SeededDropout(0.5, new Generator(3));
        using var second = new SeededDropout(0.5, new Generator(3));
        using var other = new SeededDropout(0.5, new Generator(4));
        using var scope = NewDisposeScope();
        var input = ones(1000);

        Assert.True(ModelTensors.Identical(first.forward(input), second.forward(input)));
        Assert.False(ModelTensors.Identical(first.forward(input), other.forward(input)));
    }

    [Fact]
    public void Forward_EvalMode_IsIdentity()
    {
        using var dropout = new SeededDropout(0.5, new Generator(3));
        using var scope = NewDisposeScope();
        var input = randn(100);

        dropout.eval();

        Assert.True(ModelTensors.Identical(dropout.forward(input), input));
    }

    [Fact]
    public void Forward_ZeroProbability_IsIdentity()
    {
        using var dropout = new SeededDropout(0, new Generator(3));
        using var scope = NewDisposeScope();
        var input = randn(100);

        dropout.train();

        Assert.True(ModelTensors.Identical(dropout.forward(input), input));
    }

    [Fact]
    public void Forward_Training_ZeroesAboutTheShareAndScalesTheRest()
    {
        using var dropout = new SeededDropout(0.3, new Generator(9));
        using var scope = NewDisposeScope();

        var output = dropout.forward(ones(1_000_000));

        var zeroShare = output.eq(0).to(ScalarType.Float64).mean().item<double>();
        Assert.InRange(zeroShare, 0.29, 0.31);
        Assert.True(output.masked_select(output.ne(0)).allclose(full(1, 1 / 0.7f)));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Constructor_ProbabilityOutsideRange_Throws(double probability) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SeededDropout(probability, null));
}
