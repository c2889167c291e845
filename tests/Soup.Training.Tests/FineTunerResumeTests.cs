using Soup.Core.Jobs;
using Soup.Training.FineTuning;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class FineTunerResumeTests(TinyDataFixture tiny)
{
    [Theory]
    [InlineData(Optimizers.Sgd, 0.05, WeightAverages.MovingAverage)]
    [InlineData(Optimizers.AdamW, 0.002, WeightAverages.MovingAverage)]
    [InlineData(Optimizers.Adam, 0.002, WeightAverages.Ema)]
    public void Run_ResumedFromPeriodicCheckpoint_GivesBitIdenticalWeights(string optimizer, double learningRate, string average)
    {
        var settings = ResumableSettings(optimizer, learningRate) with { CheckpointEvery = 7, Average = average };
        var observer = new RecordingObserver();
        var uninterrupted = TrainingRuns.Run(tiny.Train, settings, observer: observer);

        var state = RoundTrip(observer.Checkpoints[1]);
        var resumed = TrainingRuns.Run(tiny.Train, settings, resume: state);

        Assert.Equal([7, 14], observer.Checkpoints.Select(c => c.Step));
        Assert.True(TrainingRuns.SameBytes(uninterrupted.Weights, resumed.Weights));
        Assert.Equal(uninterrupted.FinalLoss, resumed.FinalLoss);
    }

    [Theory]
    [InlineData(Optimizers.Sgd, 0.05)]
    [InlineData(Optimizers.AdamW, 0.002)]
    public void Run_CancelledThenResumed_GivesBitIdenticalWeights(string optimizer, double learningRate)
    {
        var settings = ResumableSettings(optimizer, learningRate) with { CheckpointEvery = 1000 };
        var uninterrupted = TrainingRuns.Run(tiny.Train, settings);
        using var cancellation = new CancellationTokenSource();
        var observer = new RecordingObserver(cancellation, cancelAtStep: 6);

        Assert.Throws<OperationCanceledException>(
            () => TrainingRuns.Run(tiny.Train, settings, observer: observer, cancellationToken: cancellation.Token));
        var resumed = TrainingRuns.Run(tiny.Train, settings, resume: RoundTrip(observer.Checkpoints.Single()));

        Assert.Equal(6, observer.Checkpoints.Single().Step);
        Assert.True(TrainingRuns.SameBytes(uninterrupted.Weights, resumed.Weights));
    }

    [Fact]
    public void Run_CancelledRightAfterACheckpoint_DoesNotCheckpointAgain()
    {
        var settings = TrainingRuns.Settings() with { CheckpointEvery = 4 };
        using var cancellation = new CancellationTokenSource();
        var observer = new RecordingObserver(cancellation, cancelAtStep: 4);

        Assert.Throws<OperationCanceledException>(
            () => TrainingRuns.Run(tiny.Train, settings, observer: observer, cancellationToken: cancellation.Token));

        Assert.Equal([4], observer.Checkpoints.Select(c => c.Step));
    }

    [Fact]
    public void Run_CancelledBeforeStart_ThrowsWithoutCheckpoint()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var observer = new RecordingObserver();

        Assert.Throws<OperationCanceledException>(
            () => TrainingRuns.Run(tiny.Train, TrainingRuns.Settings(), observer: observer, cancellationToken: cancelled.Token));
        Assert.Empty(observer.Checkpoints);
    }

    [Fact]
    public void Run_DefaultCheckpointEvery_CheckpointsEveryTenthButNotAfterLastStep()
    {
        var observer = new RecordingObserver();

        TrainingRuns.Run(tiny.Train, TrainingRuns.Settings(), observer: observer);

        Assert.Equal([2, 4, 6, 8, 10, 12, 14, 16, 18], observer.Checkpoints.Select(c => c.Step));
        var names = observer.Checkpoints[0].Tensors.Select(t => t.Name).ToList();
        Assert.Contains("model.fc.weight", names);
        Assert.Contains("optimizer.fc.weight.momentum_buffer", names);
        Assert.Contains("rng.dropout", names);
    }

    [Fact]
    public void Run_StateOfOtherSettings_ThrowsInvalidData()
    {
        var observer = new RecordingObserver();
        TrainingRuns.Run(tiny.Train, TrainingRuns.Settings() with { CheckpointEvery = 5 }, observer: observer);

        Assert.Throws<InvalidDataException>(() => TrainingRuns.Run(
            tiny.Train, TrainingRuns.Settings() with { Optimizer = Optimizers.AdamW }, resume: observer.Checkpoints[0]));
    }

    [Fact]
    public void Run_StatePastTheLastStep_Throws()
    {
        var state = new TrainingState(20, []);

        var error = Assert.Throws<ArgumentException>(() => TrainingRuns.Run(tiny.Train, TrainingRuns.Settings(), resume: state));

        Assert.Contains("step 20", error.Message, StringComparison.Ordinal);
    }

    private static TrainSettings ResumableSettings(string optimizer, double learningRate) => TrainingRuns.Settings() with
    {
        Optimizer = optimizer,
        LearningRate = learningRate,
        Dropout = 0.3,
        Average = WeightAverages.MovingAverage,
        AverageStart = 3,
        AnchorWeight = 0.5,
    };

    private static TrainingState RoundTrip(TrainingState state)
    {
        using var stream = new MemoryStream();
        state.ToSafetensors(stream, new Dictionary<string, string> { ["job"] = "p/0" });
        return TrainingState.FromSafetensors(stream.ToArray(), "state.safetensors");
    }
}
