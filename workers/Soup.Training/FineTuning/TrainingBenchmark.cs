using Soup.Training.Data;
using Soup.Training.Models;
using Soup.Training.Text;
using System.Diagnostics;
using Soup.Core.Jobs;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>The yardstick for <see cref="FineTuner"/>'s throughput: the same model's SGD steps with no data pipeline.</summary>
public static class TrainingBenchmark
{
    /// <summary>
    /// Runs <paramref name="steps"/> of <see cref="FineTuner"/>'s training steps (SGD, lr 0.01, momentum 0.9) of
    /// <paramref name="model"/> on one batch of random images and labels already on the device, with no data pipeline,
    /// sampler or checkpoints, and returns the images per second over the steps (set-up excluded).
    /// </summary>
    /// <param name="model">A name from <see cref="ModelFactory.KnownModels"/>.</param>
    /// <param name="shape">The images and classes the model is built for.</param>
    /// <param name="batchSize">Images per step; at least 1.</param>
    /// <param name="steps">Steps timed; at least 1.</param>
    /// <param name="seed">Seeds the model and the random batch.</param>
    public static double BareLoop(string model, ModelShape shape, int batchSize, int steps, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var settings = new TrainSettings
        {
            Optimizer = Optimizers.Sgd, Steps = steps, BatchSize = batchSize, LearningRate = 0.01, Momentum = 0.9, Seed = seed,
        };
        using var objective = new ImageClassification(new ShapeOnly(shape));
        using var generator = new Generator(unchecked((ulong)seed));
        using var batch = new TrainingBatch(
            [randn([batchSize, shape.Channels, shape.Height, shape.Width], generator: generator), randint(shape.Classes, [batchSize], generator: generator)],
            batchSize);
        return BareLoop(model, objective, batch, settings);
    }

    /// <summary>
    /// Tokens per second of <paramref name="steps"/> AdamW training steps of the GPT-2 <paramref name="model"/> on one
    /// batch of <paramref name="batchSize"/> random blocks of its context, already in memory: the yardstick for a
    /// language model's training path.
    /// </summary>
    public static double BareLoopText(string model, int batchSize, int steps, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var context = LanguageModelling.Config(model).Context;
        using var generator = new Generator(unchecked((ulong)seed));
        using var ids = randint(0, Gpt2Config.Gpt2Vocabulary, [batchSize, context], dtype: ScalarType.Int64, generator: generator);
        using var objective = new LanguageModelling(TokenBlocks.FromTokens(ids.data<long>().ToArray(), context));
        using var batch = new TrainingBatch([ids.clone()], ids.numel());
        var settings = new TrainSettings { Optimizer = Optimizers.AdamW, Steps = steps, BatchSize = batchSize, LearningRate = 1e-3, Seed = seed };
        return BareLoop(model, objective, batch, settings);
    }

    /// <summary>Steps of <paramref name="objective"/>'s model on one batch already on the device; throughput units per second.</summary>
    private static double BareLoop(string model, TrainingObjective objective, TrainingBatch batch, TrainSettings settings)
    {
        var device = TorchDevice.Preferred();
        using var run = new TrainingRun(new FineTuneOptions(model, settings), objective, null, device);
        using var onDevice = new TrainingBatch([.. batch.Tensors.Select(t => t.to(device))], batch.Units);
        var stopwatch = Stopwatch.StartNew();
        for (var step = 1; step <= settings.Steps; step++)
            run.Step(onDevice, step, countCorrect: false);
        return settings.Steps * (double)batch.Units / Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9);
    }

    /// <summary>Data that only has a shape: the bare loop builds its own batch.</summary>
    private sealed class ShapeOnly(ModelShape shape) : ILabelledImages
    {
        public int Count => int.MaxValue;

        public ModelShape Shape => shape;

        public (Tensor Images, Tensor Labels) Batch(long[] indices, Random? augment) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
