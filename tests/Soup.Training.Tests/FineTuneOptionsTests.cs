using Soup.Core.Jobs;
using static TorchSharp.torch;
using Soup.Training.Data;
using Soup.Training.Models;
using Soup.Training.FineTuning;

namespace Soup.Training.Tests;

public sealed class FineTuneOptionsTests
{
    private static readonly FakeImages Data = new(300, ModelShape.Mnist);

    public static TheoryData<string, string, string> BadSettings() => new()
    {
        { "Optimizer", "Optimizer", "'rmsprop'" },
        { "Steps", "Steps", "0" },
        { "BatchSize0", "BatchSize", "0" },
        { "BatchSizeAboveData", "BatchSize", "batch size 512 is larger than the training data (300 examples)" },
        { "LearningRate0", "LearningRate", "0" },
        { "LearningRateNaN", "LearningRate", "NaN" },
        { "LearningRateInfinite", "LearningRate", "Infinity" },
        { "LearningRateAboveTheSpecsRange", "LearningRate", "(0, 10]" },
        { "Momentum1", "Momentum", "1" },
        { "MomentumNegative", "Momentum", "-0.1" },
        { "WeightDecay", "WeightDecay", "-1" },
        { "Dropout1", "Dropout", "1" },
        { "DropoutNegative", "Dropout", "-0.5" },
        { "Average", "Average", "'swa'" },
        { "AverageStart0", "AverageStart", "0" },
        { "AverageStartAboveSteps", "AverageStart", "101" },
        { "EmaDecay0", "EmaDecay", "0" },
        { "EmaDecay1", "EmaDecay", "1" },
        { "AnchorWeight", "AnchorWeight", "-2" },
        { "ClassWeightsCount", "ClassWeights", "3 weights" },
        { "ClassWeightsNegative", "ClassWeights", "-1" },
        { "ClassWeightsAboveTheSpecsRange", "ClassWeights", "[0, 1000]" },
        { "CheckpointEvery", "CheckpointEvery", "-5" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Validate_SettingOutOfRange_ThrowsNamingSettingAndValue(string change, string setting, string value)
    {
        var options = new FineTuneOptions(ModelFactory.SmallCnnName, Break(change));

        var error = Assert.Throws<ArgumentException>(() => options.Validate(Data));

        Assert.Equal(setting, error.ParamName);
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
        Assert.Contains(value, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Validate_UnknownModel_ListsKnownModels()
    {
        var options = new FineTuneOptions("vit-huge", new TrainSettings());

        var error = Assert.Throws<ArgumentException>(() => options.Validate(Data));

        Assert.Equal("Model", error.ParamName);
        Assert.Contains("'vit-huge'", error.Message, StringComparison.Ordinal);
        Assert.Contains(ModelFactory.SmallCnnName, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownOptimizer_ListsKnownOptimizers()
    {
        var options = new FineTuneOptions(ModelFactory.SmallCnnName, new TrainSettings { Optimizer = "rmsprop" });

        var error = Assert.Throws<ArgumentException>(() => options.Validate(Data));

        Assert.Contains("sgd, adam, adamw", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EdgeValues_Pass()
    {
        var settings = new TrainSettings
        {
            BatchSize = 300, Momentum = 0, Dropout = 0, AverageStart = 100, Average = WeightAverages.Ema, AnchorWeight = 0,
            ClassWeights = Enumerable.Repeat(0.0, 10).ToList(), CheckpointEvery = 0, Optimizer = Optimizers.AdamW,
        };

        new FineTuneOptions(ModelFactory.SmallCnnName, settings).Validate(Data);
    }

    [Theory]
    [InlineData(100, 0, 10)]
    [InlineData(5, 0, 1)]
    [InlineData(10_000, 0, 50)]
    [InlineData(10_000, 7, 7)]
    public void CheckpointInterval_DefaultsToATenthOfStepsAtMost50(int steps, int every, int expected)
    {
        var options = new FineTuneOptions(ModelFactory.SmallCnnName, new TrainSettings { Steps = steps, CheckpointEvery = every });

        Assert.Equal(expected, options.CheckpointInterval);
    }

    private static TrainSettings Break(string change)
    {
        var s = new TrainSettings();
        switch (change)
        {
            case "Optimizer": s.Optimizer = "rmsprop"; break;
            case "Steps": s.Steps = 0; break;
            case "BatchSize0": s.BatchSize = 0; break;
            case "BatchSizeAboveData": s.BatchSize = 512; break;
            case "LearningRate0": s.LearningRate = 0; break;
            case "LearningRateNaN": s.LearningRate = double.NaN; break;
            case "LearningRateInfinite": s.LearningRate = double.PositiveInfinity; break;
            case "LearningRateAboveTheSpecsRange": s.LearningRate = 11; break; // a worker took any finite rate, a spec caps it at 10
            case "Momentum1": s.Momentum = 1; break;
            case "MomentumNegative": s.Momentum = -0.1; break;
            case "WeightDecay": s.WeightDecay = -1; break;
            case "Dropout1": s.Dropout = 1; break;
            case "DropoutNegative": s.Dropout = -0.5; break;
            case "Average": s.Average = "swa"; break;
            case "AverageStart0": s.AverageStart = 0; break;
            case "AverageStartAboveSteps": s.AverageStart = 101; break;
            case "EmaDecay0": s.EmaDecay = 0; break;
            case "EmaDecay1": s.EmaDecay = 1; break;
            case "AnchorWeight": s.AnchorWeight = -2; break;
            case "ClassWeightsCount": s.ClassWeights = [1, 2, 3]; break;
            case "ClassWeightsNegative": s.ClassWeights = [1, 1, 1, 1, -1, 1, 1, 1, 1, 1]; break;
            case "ClassWeightsAboveTheSpecsRange": s.ClassWeights = [1, 1, 1, 1, 1001, 1, 1, 1, 1, 1]; break;
            case "CheckpointEvery": s.CheckpointEvery = -5; break;
            default: throw new ArgumentOutOfRangeException(nameof(change), change, null);
        }
        return s;
    }

    /// <summary>Data of a given size and shape that is never read.</summary>
    private sealed class FakeImages(int count, ModelShape shape) : ILabelledImages
    {
        public int Count => count;

        public ModelShape Shape => shape;

        public (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
