using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>
/// What a fine-tuning run trains and on what: the model it creates, the batches of its examples and the loss of a batch.
/// <see cref="FineTuner"/> and <see cref="TrainingRun"/> own everything else (optimizer, averages, anchor, resumption,
/// progress), the same for every task: image classification, language modelling, reward modelling.
/// </summary>
public abstract class TrainingObjective : IDisposable
{
    /// <summary>The number of training examples (a batch may not be larger).</summary>
    public abstract int Count { get; }

    /// <summary>What throughput counts, e.g. "images" or "tokens".</summary>
    public abstract string Unit { get; }

    /// <summary>Predictions scored per example (an image: 1; a sequence of T tokens: T − 1; a pair: 1), for the training accuracy.</summary>
    public abstract long PredictionsPerExample { get; }

    /// <summary>Examples cut from the left to fit the model's context (reported with the checkpoint); 0 for most tasks.</summary>
    public virtual int Truncated => 0;

    /// <summary>Throws <see cref="ArgumentException"/> (with the setting as parameter name) for a model or setting this task cannot train.</summary>
    public abstract void Validate(FineTuneOptions options);

    /// <summary>Creates <paramref name="model"/> initialised from <paramref name="seed"/>, on the CPU.</summary>
    public abstract nn.Module CreateModel(string model, int seed, double dropout, Generator? dropoutGenerator);

    /// <summary>Loads initial weights into a model <see cref="CreateModel"/> made; strict unless the task says otherwise.</summary>
    /// <exception cref="InvalidDataException">The tensors do not fit; the message names the tensor.</exception>
    public virtual void Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source) => TorchCheckpoint.Load(model, tensors, source);

    /// <summary>The state-dict prefix a linear probe trains.</summary>
    /// <exception cref="ArgumentException">The model has no head to probe.</exception>
    public abstract string HeadPrefix(nn.Module model);

    /// <summary>The examples at <paramref name="indices"/> as CPU tensors; <paramref name="random"/> drives any augmentation.</summary>
    public abstract TrainingBatch Batch(long[] indices, Random random);

    /// <summary>The model's outputs on a batch already on the model's device.</summary>
    public abstract Tensor Forward(nn.Module model, IReadOnlyList<Tensor> batch);

    /// <summary>The loss of <paramref name="outputs"/>, and (when <paramref name="countCorrect"/>) how many predictions were right.</summary>
    public abstract (Tensor Loss, long Correct) Loss(Tensor outputs, IReadOnlyList<Tensor> batch, bool countCorrect);

    /// <summary>
    /// Logits [N, C] of the distributions an anchor's KL compares (rows: predictions), from <see cref="Forward"/>'s
    /// outputs; null when the task has none (then <see cref="Validate"/> refuses an anchor).
    /// </summary>
    public virtual Tensor? Distributions(Tensor outputs, IReadOnlyList<Tensor> batch) => outputs;

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the objective holds (not the data it was given).</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Throws the <see cref="ArgumentException"/> <see cref="Validate"/> throws.</summary>
    protected static void Refuse(string setting, string message) => throw new ArgumentException(message, setting);
}

/// <summary>A batch of examples: its tensors (CPU) and how many throughput units it holds.</summary>
public sealed class TrainingBatch(IReadOnlyList<Tensor> tensors, long units) : IDisposable
{
    /// <summary>The tensors, in the order the objective reads them.</summary>
    public IReadOnlyList<Tensor> Tensors { get; } = tensors;

    /// <summary>Throughput units (<see cref="TrainingObjective.Unit"/>) in the batch.</summary>
    public long Units { get; } = units;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensor in Tensors)
            tensor.Dispose();
    }
}
