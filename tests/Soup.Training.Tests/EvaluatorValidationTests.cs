using Soup.Core.Jobs;
using Soup.Training.Evaluation;
using Soup.Training.FineTuning;
using Soup.Training.Models;

namespace Soup.Training.Tests;

public sealed class EvaluatorValidationTests
{
    private static readonly NamedCheckpoint[] TwoCheckpoints = [new("a", []), new("b", [])];
    private static readonly NamedSplit[] OneSplit = [new("test", new ShapeOnlyImages(10, ModelShape.Mnist))];

    [Fact]
    public void Evaluate_NoCheckpoints_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Evaluate([], OneSplit));

        Assert.Equal("checkpoints", error.ParamName);
    }

    [Fact]
    public void Evaluate_NoSplits_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, []));

        Assert.Equal("splits", error.ParamName);
    }

    [Fact]
    public void Evaluate_DuplicateSplitNames_ThrowsNamingIt()
    {
        NamedSplit[] splits = [.. OneSplit, new("val", new ShapeOnlyImages(5, ModelShape.Mnist)), new("val", new ShapeOnlyImages(5, ModelShape.Mnist))];

        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, splits));

        Assert.Contains("'val'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_EmptySplit_ThrowsNamingIt()
    {
        NamedSplit[] splits = [.. OneSplit, new("env1_out", new ShapeOnlyImages(0, ModelShape.Mnist))];

        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, splits));

        Assert.Contains("'env1_out'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_SplitShapesDiffer_ThrowsNamingBoth()
    {
        NamedSplit[] splits = [.. OneSplit, new("colour", new ShapeOnlyImages(5, new ModelShape(3, 28, 28, 10)))];

        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, splits));

        Assert.Contains("'colour'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'test'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_SplitClassCountsDiffer_Throws()
    {
        NamedSplit[] splits = [.. OneSplit, new("more", new ShapeOnlyImages(5, ModelShape.Mnist with { Classes = 7 }))];

        Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, splits));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void Evaluate_EnsembleIndexOutOfRange_Throws(int index)
    {
        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, OneSplit, ensemble: [0, index]));

        Assert.Equal("ensemble", error.ParamName);
        Assert.Contains($"{index}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_DuplicateEnsembleIndex_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, OneSplit, ensemble: [1, 0, 1]));

        Assert.Equal("ensemble", error.ParamName);
        Assert.Contains("more than once", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(-1, 1)]
    [InlineData(5, 0)]
    public void Evaluate_PairIndexOutOfRange_Throws(int a, int b)
    {
        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, OneSplit, connectivity: [new(0, 1), new(a, b)]));

        Assert.Equal("connectivity", error.ParamName);
        Assert.Contains($"({a}, {b})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_PairOfACheckpointWithItself_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => Evaluate(TwoCheckpoints, OneSplit, connectivity: [new(1, 1)]));

        Assert.Equal("connectivity", error.ParamName);
        Assert.Contains("itself", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_BatchSizeZero_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(
            () => Evaluator.Evaluate("cnn-small", TwoCheckpoints, OneSplit, null, null, batchSize: 0));
    }

    private static EvaluationReport Evaluate(
        IReadOnlyList<NamedCheckpoint> checkpoints, IReadOnlyList<NamedSplit> splits, IReadOnlyList<int>? ensemble = null, IReadOnlyList<CheckpointPair>? connectivity = null) =>
        Evaluator.Evaluate("cnn-small", checkpoints, splits, ensemble, connectivity);
}
