using System.Runtime.InteropServices;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class FineTunerTests(TinyDataFixture tiny)
{
    private static readonly FineTuneOptions Options = new(
        "cnn-small", Steps: 20, BatchSize: 32, LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Seed: 11);

    [Fact]
    public void Run_TinyData_LowersLossAndBeatsChance()
    {
        var reports = new List<TrainingProgress>();
        var progress = new SynchronousProgress<TrainingProgress>(reports.Add);

        var result = FineTuner.Run(Options with { Steps = 60 }, tiny.Train, null, progress, TestContext.Current.CancellationToken);
        var evaluation = Evaluator.Evaluate("cnn-small", [result.Weights], tiny.Test).Single();

        Assert.Equal(60, result.Steps);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => i * 6), reports.Select(r => r.Step));
        Assert.True(result.FinalLoss < reports[0].Loss / 2, $"loss {reports[0].Loss} -> {result.FinalLoss}");
        Assert.True(evaluation.Accuracy > 0.8, $"test accuracy {evaluation.Accuracy}");
        Assert.True(result.ImagesPerSecond > 0);
    }

    [Fact]
    public void Run_SameSeed_GivesIdenticalWeights_OtherSeed_Differs()
    {
        var first = FineTuner.Run(Options, tiny.Train, null, null, TestContext.Current.CancellationToken);
        var again = FineTuner.Run(Options, tiny.Train, null, null, TestContext.Current.CancellationToken);
        var other = FineTuner.Run(Options with { Seed = 12 }, tiny.Train, null, null, TestContext.Current.CancellationToken);

        Assert.True(SameBytes(first, again));
        Assert.False(SameBytes(first, other));
    }

    [Fact]
    public void Run_WithInit_StartsFromIt()
    {
        var init = FineTuner.Run(Options with { Steps = 1 }, tiny.Train, null, null, TestContext.Current.CancellationToken).Weights;
        var nudge = Options with { Steps = 1, LearningRate = 1e-9, Momentum = 0, WeightDecay = 0, Seed = 99 };

        var result = FineTuner.Run(nudge, tiny.Train, init, null, TestContext.Current.CancellationToken);

        Assert.Equal(init.Select(t => t.Name), result.Weights.Select(t => t.Name));
        Assert.All(init.Zip(result.Weights), p => Assert.Equal(
            MemoryMarshal.Cast<byte, float>(p.First.Data.Span).ToArray(),
            MemoryMarshal.Cast<byte, float>(p.Second.Data.Span).ToArray(),
            (x, y) => Math.Abs(x - y) < 1e-6));
    }

    [Fact]
    public void Run_HugeLearningRate_ThrowsTrainingDiverged()
    {
        var options = Options with { LearningRate = 1e6, Momentum = 0 };

        var error = Assert.Throws<TrainingDivergedException>(
            () => FineTuner.Run(options, tiny.Train, null, null, TestContext.Current.CancellationToken));

        Assert.Contains($"step {error.Step}", error.Message, StringComparison.Ordinal);
        Assert.False(double.IsFinite(error.Loss));
    }

    [Fact]
    public void Run_Cancelled_Throws()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.Throws<OperationCanceledException>(() => FineTuner.Run(Options, tiny.Train, null, null, cancelled.Token));
    }

    [Fact]
    public void Run_BadOptions_ThrowsNamingSetting()
    {
        var error = Assert.Throws<ArgumentException>(
            () => FineTuner.Run(Options with { BatchSize = 0 }, tiny.Train, null, null, TestContext.Current.CancellationToken));

        Assert.Contains("BatchSize", error.Message, StringComparison.Ordinal);
    }

    private static bool SameBytes(FineTuneResult a, FineTuneResult b)
        => a.Weights.Zip(b.Weights).All(p => p.First.Name == p.Second.Name && p.First.Data.Span.SequenceEqual(p.Second.Data.Span));

    /// <summary>Unlike <see cref="Progress{T}"/>, reports on the caller's thread, before Run returns.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
