using Soup.Core.Jobs;
using Soup.Training.FineTuning;
using Soup.Training.Models;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class FineTunerTests(TinyDataFixture tiny)
{
    [Theory]
    [InlineData(Optimizers.Sgd, 0.05)]
    [InlineData(Optimizers.Adam, 0.002)]
    [InlineData(Optimizers.AdamW, 0.002)]
    public void Run_EachOptimizer_LowersLossAndBeatsChance(string optimizer, double learningRate)
    {
        var observer = new RecordingObserver();
        var settings = TrainingRuns.Settings();
        settings.Optimizer = optimizer;
        settings.LearningRate = learningRate;
        settings.WeightDecay = 0.01;
        settings.Steps = 60;

        var result = TrainingRuns.Run(tiny.Train, settings, observer: observer);
        var evaluation = Evaluator.Evaluate(ModelFactory.SmallCnnName, [result.Weights], tiny.Test).Single();

        Assert.Equal(60, result.Steps);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => i * 6), observer.Reports.Select(r => r.Step));
        Assert.True(result.FinalLoss < observer.Reports[0].Loss / 2, $"loss {observer.Reports[0].Loss} -> {result.FinalLoss}");
        Assert.True(evaluation.Accuracy > 0.8, $"test accuracy {evaluation.Accuracy}");
        Assert.True(result.FinalTrainAccuracy > 0.8, $"train accuracy {result.FinalTrainAccuracy}");
        Assert.True(result.PerSecond > 0);
    }

    [Fact]
    public void Run_SameSeed_GivesIdenticalWeights_OtherSeed_Differs()
    {
        var settings = TrainingRuns.Settings();
        settings.Dropout = 0.3;

        var first = TrainingRuns.Run(tiny.Train, settings);
        var again = TrainingRuns.Run(tiny.Train, settings);
        var other = TrainingRuns.Run(tiny.Train, settings with { Seed = 12 });

        Assert.True(TrainingRuns.SameBytes(first.Weights, again.Weights));
        Assert.Equal(first.FinalLoss, again.FinalLoss);
        Assert.False(TrainingRuns.SameBytes(first.Weights, other.Weights));
    }

    [Fact]
    public void Run_DropoutFromSettings_ChangesTheResult()
    {
        var plain = TrainingRuns.Run(tiny.Train, TrainingRuns.Settings());
        var dropped = TrainingRuns.Run(tiny.Train, TrainingRuns.Settings() with { Dropout = 0.5 });

        Assert.False(TrainingRuns.SameBytes(plain.Weights, dropped.Weights));
    }

    [Fact]
    public void Run_WithInit_StartsFromIt()
    {
        var init = TrainingRuns.Init(seed: 5);
        var nudge = TrainingRuns.Settings() with { Steps = 1, LearningRate = 1e-9, Momentum = 0, WeightDecay = 0, Seed = 99 };

        var result = TrainingRuns.Run(tiny.Train, nudge, init);

        Assert.Equal(init.Select(t => t.Name), result.Weights.Select(t => t.Name));
        Assert.All(init.Zip(result.Weights), p => Assert.Equal(
            TrainingRuns.Floats(p.First), TrainingRuns.Floats(p.Second), (x, y) => Math.Abs(x - y) < 1e-6));
    }

    [Fact]
    public void Run_HugeLearningRate_ThrowsTrainingDivergedNamingStep()
    {
        var settings = TrainingRuns.Settings() with { LearningRate = 10, Momentum = 0.99 };

        var error = Assert.Throws<TrainingDivergedException>(() => TrainingRuns.Run(tiny.Train, settings));

        Assert.Contains($"step {error.Step}", error.Message, StringComparison.Ordinal);
        Assert.True(error.Step > 0);
        Assert.False(double.IsFinite(error.Loss));
    }

    [Fact]
    public void Run_BatchLargerThanData_ThrowsInsteadOfCapping()
    {
        var settings = TrainingRuns.Settings() with { BatchSize = tiny.Train.Count + 1 };

        var error = Assert.Throws<ArgumentException>(() => TrainingRuns.Run(tiny.Train, settings));

        Assert.Equal(nameof(TrainSettings.BatchSize), error.ParamName);
        Assert.Contains($"({tiny.Train.Count} examples)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_BatchOfWholeData_Trains()
    {
        var settings = TrainingRuns.Settings() with { BatchSize = tiny.Train.Count, Steps = 3 };

        var result = TrainingRuns.Run(tiny.Train, settings);

        Assert.Equal(3, result.Steps);
        Assert.True(double.IsFinite(result.FinalLoss));
    }

    [Fact]
    public void Run_ClassWeights_ChangeTheResult()
    {
        var plain = TrainingRuns.Run(tiny.Train, TrainingRuns.Settings());
        var weighted = TrainingRuns.Run(
            tiny.Train, TrainingRuns.Settings() with { ClassWeights = [5, 0.1, 1, 1, 1, 1, 1, 1, 1, 1] });

        Assert.False(TrainingRuns.SameBytes(plain.Weights, weighted.Weights));
    }

    [Fact]
    public void Run_LinearProbe_KeepsFeaturizerBitIdenticalAndTrainsHead()
    {
        var init = TrainingRuns.Init(seed: 5);
        var settings = TrainingRuns.Settings() with { LinearProbe = true, Dropout = 0.5, WeightDecay = 0.01 };

        var result = TrainingRuns.Run(tiny.Train, settings, init);

        Assert.Equal(init.Select(t => t.Name), result.Weights.Select(t => t.Name));
        foreach (var (before, after) in init.Zip(result.Weights))
        {
            if (before.Name.StartsWith("fc.", StringComparison.Ordinal))
                Assert.False(before.Data.Span.SequenceEqual(after.Data.Span), $"{before.Name} did not change");
            else
                Assert.True(before.Data.Span.SequenceEqual(after.Data.Span), $"{before.Name} changed");
        }
        Assert.True(result.FinalTrainAccuracy > 0.5, $"train accuracy {result.FinalTrainAccuracy}");
    }

    [Fact]
    public void Run_LinearProbe_RunsFeaturizerInEvalModeSoItsDropoutIsOff()
    {
        var init = TrainingRuns.Init(seed: 5);
        var settings = TrainingRuns.Settings() with { LinearProbe = true, Steps = 8 };

        var withDropout = TrainingRuns.Run(tiny.Train, settings with { Dropout = 0.5 }, init);
        var without = TrainingRuns.Run(tiny.Train, settings, init);
        var fullWithDropout = TrainingRuns.Run(tiny.Train, settings with { Dropout = 0.5, LinearProbe = false }, init);
        var fullWithout = TrainingRuns.Run(tiny.Train, settings with { LinearProbe = false }, init);

        Assert.True(TrainingRuns.SameBytes(withDropout.Weights, without.Weights));
        Assert.False(TrainingRuns.SameBytes(fullWithDropout.Weights, fullWithout.Weights));
    }
}
