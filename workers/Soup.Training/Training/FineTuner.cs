using System.Diagnostics;
using Soup.Core.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training;

/// <summary>Fine-tunes one member of a soup.</summary>
public static class FineTuner
{
    /// <summary>
    /// Trains the model with SGD (momentum, weight decay) on cross-entropy, on CUDA when available, else the CPU.
    /// Torch's generator is seeded with <see cref="FineTuneOptions.Seed"/> before the model is created, so
    /// <paramref name="init"/> = null gives a seeded random initialisation; batches come from shuffled epochs seeded
    /// the same way. On the CPU, the same options, data and initial weights give bit-identical weights.
    /// </summary>
    /// <param name="options">Model and hyperparameters.</param>
    /// <param name="train">The training examples.</param>
    /// <param name="init">Initial weights (strictly matching the model), or null for a seeded random initialisation.</param>
    /// <param name="progress">Receives a report about every tenth of the steps.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="InvalidDataException"><paramref name="init"/> does not match the model.</exception>
    public static FineTuneResult Run(
        FineTuneOptions options,
        ImageClassificationData train,
        IReadOnlyList<TensorData>? init,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        options.Validate();
        if (train.Count == 0)
            throw new ArgumentException("The training data is empty.", nameof(train));

        var device = TorchDevice.Preferred();
        using var model = ModelFactory.CreateSeeded(options.Model, train.Shape, options.Seed);
        if (init is not null)
            TorchCheckpoint.Load(model, init, "initial weights");
        model.to(device);
        model.train();
        using var optimizer = optim.SGD(
            model.parameters(), options.LearningRate, options.Momentum, weight_decay: options.WeightDecay);
        var sampler = new BatchSampler(train.Count, options.BatchSize, options.Seed);
        var reportEvery = Math.Max(1, (options.Steps + 9) / 10);
        var finalWindow = Math.Max(1, options.Steps / 10);
        var stopwatch = Stopwatch.StartNew();
        double lossSinceReport = 0, finalLossSum = 0;

        for (var step = 1; step <= options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var loss = Step(model, optimizer, train, sampler.Next(), device, step);
            lossSinceReport += loss;
            if (step > options.Steps - finalWindow)
                finalLossSum += loss;
            if (step % reportEvery == 0 || step == options.Steps)
            {
                var stepsSinceReport = step - ((step - 1) / reportEvery * reportEvery);
                progress?.Report(new TrainingProgress(
                    step, options.Steps, lossSinceReport / stepsSinceReport, Throughput(step, sampler, stopwatch)));
                lossSinceReport = 0;
            }
        }

        var weights = TorchCheckpoint.ToTensorData(model);
        return new FineTuneResult(weights, finalLossSum / finalWindow, options.Steps, Throughput(options.Steps, sampler, stopwatch));
    }

    private static double Step(
        nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, ImageClassificationData train, long[] batch, Device device, int step)
    {
        using var scope = NewDisposeScope();
        var index = tensor(batch);
        var images = train.Images.index_select(0, index).to(device);
        var labels = train.Labels.index_select(0, index).to(device);
        var loss = nn.functional.cross_entropy(model.forward(images), labels);
        var value = loss.item<float>();
        if (!float.IsFinite(value))
            throw new TrainingDivergedException(step, value);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        return value;
    }

    private static double Throughput(int steps, BatchSampler sampler, Stopwatch stopwatch)
        => steps * (double)sampler.BatchSize / Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9);
}
