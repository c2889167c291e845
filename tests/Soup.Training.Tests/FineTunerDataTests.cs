using Soup.Core.Jobs;
using Soup.Training.FineTuning;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class FineTunerDataTests(TinyDataFixture tiny)
{
    [Fact]
    public void Run_AugmentingData_IsDeterministicResumableAndReadOneBatchAtATime()
    {
        var data = new AugmentingImages(tiny.Train);
        var settings = TrainingRuns.Settings() with { Steps = 16, CheckpointEvery = 5 };
        var observer = new RecordingObserver();

        var first = TrainingRuns.Run(data, settings, observer: observer);
        var again = TrainingRuns.Run(data, settings);
        var resumed = TrainingRuns.Run(data, settings, resume: observer.Checkpoints[1]);
        var plain = TrainingRuns.Run(tiny.Train, settings);

        Assert.True(TrainingRuns.SameBytes(first.Weights, again.Weights));
        Assert.True(TrainingRuns.SameBytes(first.Weights, resumed.Weights));
        Assert.False(TrainingRuns.SameBytes(first.Weights, plain.Weights));
        Assert.False(data.Overlapped);
        Assert.False(data.ReadWithoutAugment);
    }

    [Fact]
    public void TrainingState_SafetensorsRoundTrip_KeepsStepTensorsAndMetadata()
    {
        var observer = new RecordingObserver();
        TrainingRuns.Run(tiny.Train, TrainingRuns.Settings() with { Optimizer = Optimizers.AdamW, Steps = 4, CheckpointEvery = 3 }, observer: observer);
        var state = observer.Checkpoints.Single();
        using var stream = new MemoryStream();

        state.ToSafetensors(stream, new Dictionary<string, string> { ["job"] = "p/1" });
        var bytes = stream.ToArray();
        var read = TrainingState.FromSafetensors(bytes, "state");
        var metadata = Soup.Merging.Checkpoints.Safetensors.Read(bytes, "state").Metadata;

        Assert.Equal(3, read.Step);
        Assert.True(TrainingRuns.SameBytes(state.Tensors, read.Tensors));
        Assert.Equal("p/1", metadata["job"]);
        Assert.Contains(read.Tensors, t => t.Name == "optimizer.conv1.weight.exp_avg_sq");
        Assert.Contains(read.Tensors, t => t.Name == "optimizer.conv1.weight.step");
    }

    [Fact]
    public void TrainingState_FromSafetensorsWithoutStep_ThrowsInvalidData()
    {
        using var stream = new MemoryStream();
        Soup.Merging.Checkpoints.Safetensors.Write(stream, [], new Dictionary<string, string> { ["job"] = "p/1" });

        var error = Assert.Throws<InvalidDataException>(() => TrainingState.FromSafetensors(stream.ToArray(), "state.safetensors"));

        Assert.Contains("state.safetensors", error.Message, StringComparison.Ordinal);
    }
}
