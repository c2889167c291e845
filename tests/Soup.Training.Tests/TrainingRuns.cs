using System.Runtime.InteropServices;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Training.Data;
using Soup.Training.FineTuning;
using Soup.Training.Checkpoints;
using Soup.Training.Models;

namespace Soup.Training.Tests;

/// <summary>Settings, runs and comparisons the fine-tuning tests share.</summary>
internal static class TrainingRuns
{
    /// <summary>SGD on cnn-small: 20 steps of 32, lr 0.05, momentum 0.9, weight decay 1e-4, seed 11.</summary>
    public static TrainSettings Settings() => new()
    {
        Optimizer = Optimizers.Sgd,
        Steps = 20,
        BatchSize = 32,
        LearningRate = 0.05,
        Momentum = 0.9,
        WeightDecay = 1e-4,
        Seed = 11,
    };

    public static FineTuneResult Run(
        ILabelledImages data, TrainSettings settings, IReadOnlyList<TensorData>? init = null, TrainingState? resume = null,
        ITrainingObserver? observer = null, CancellationToken? cancellationToken = null) =>
        FineTuner.Run(new FineTuneOptions(ModelFactory.SmallCnnName, settings), data, init, resume, observer,
            cancellationToken ?? TestContext.Current.CancellationToken);

    /// <summary>cnn-small's initialisation from <paramref name="seed"/>.</summary>
    public static IReadOnlyList<TensorData> Init(int seed)
    {
        using var model = ModelFactory.CreateSeeded(ModelFactory.SmallCnnName, ModelShape.Mnist, seed);
        return TorchCheckpoint.ToTensorData(model);
    }

    public static bool SameBytes(IReadOnlyList<TensorData> a, IReadOnlyList<TensorData> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Name == p.Second.Name && p.First.Data.Span.SequenceEqual(p.Second.Data.Span));

    public static float[] Floats(TensorData tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();

    /// <summary>The Euclidean distance between two state dicts of float32 tensors.</summary>
    public static double Distance(IReadOnlyList<TensorData> a, IReadOnlyList<TensorData> b) =>
        Math.Sqrt(a.Zip(b).Sum(p => Floats(p.First).Zip(Floats(p.Second)).Sum(x => Math.Pow(x.First - (double)x.Second, 2))));
}
