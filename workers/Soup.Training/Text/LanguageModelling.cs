using Soup.Core.Jobs;
using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>
/// Language modelling: a GPT-2 (<see cref="Gpt2Config.Named"/>) trained on the next-token loss over token blocks, for
/// pretraining from scratch and supervised fine-tuning alike. Throughput counts tokens; accuracy is next-token accuracy.
/// </summary>
/// <param name="blocks">The training blocks (not owned).</param>
public sealed class LanguageModelling(TokenBlocks blocks) : TrainingObjective
{
    /// <inheritdoc />
    public override int Count => blocks.Count;

    /// <inheritdoc />
    public override string Unit => "tokens";

    /// <inheritdoc />
    public override long PredictionsPerExample => blocks.Length - 1;

    /// <summary>The GPT-2 sizes this task trains, by name.</summary>
    public static IReadOnlyList<string> KnownModels { get; } = [.. Gpt2Config.Named.Select(c => c.Name)];

    /// <inheritdoc />
    public override void Validate(FineTuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = Config(options.Model);
        if (blocks.Length > config.Context)
            Refuse(nameof(options.Model), $"Blocks of {blocks.Length} tokens exceed {config.Name}'s context of {config.Context}.");
        if (options.Settings.LinearProbe)
            Refuse(nameof(TrainSettings.LinearProbe), "linearProbe trains a classifier's head; a language model's head is its token embedding.");
        if (options.Settings.ClassWeights is not null)
            Refuse(nameof(TrainSettings.ClassWeights), "classWeights are for classifiers, not language models.");
    }

    /// <summary>The named GPT-2 size <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">No size has that name; the message lists them.</exception>
    public static Gpt2Config Config(string model) => Gpt2Config.Find(model)
        ?? throw new ArgumentException($"Unknown model '{model}'. Known language models: {string.Join(", ", KnownModels)}.", nameof(FineTuneOptions.Model));

    /// <inheritdoc />
    public override nn.Module CreateModel(string model, int seed, double dropout, Generator? dropoutGenerator)
    {
        Training.TorchSetup.Initialize();
        using var init = new Generator(unchecked((ulong)seed));
        return new Gpt2LanguageModel(Config(model), dropout, dropoutGenerator, init);
    }

    /// <inheritdoc />
    public override void Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source) => Gpt2Checkpoint.Load(model, tensors, source);

    /// <inheritdoc />
    public override string HeadPrefix(nn.Module model) =>
        throw new ArgumentException("A language model's head is its token embedding: there is no head to probe.", nameof(model));

    /// <inheritdoc />
    public override TrainingBatch Batch(long[] indices, Random random)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var length = blocks.Length;
        var ids = new long[indices.Length * length];
        for (var i = 0; i < indices.Length; i++)
            blocks[indices[i]].CopyTo(ids.AsSpan(i * length, length));
        return new TrainingBatch([tensor(ids, [indices.Length, length])], ids.Length);
    }

    /// <inheritdoc />
    public override Tensor Forward(nn.Module model, IReadOnlyList<Tensor> batch) => ((Gpt2LanguageModel)model).forward(batch[0]);

    /// <inheritdoc />
    public override (Tensor Loss, long Correct) Loss(Tensor outputs, IReadOnlyList<Tensor> batch, bool countCorrect)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(batch);
        var predicted = Distributions(outputs, batch);
        var targets = batch[0].narrow(1, 1, batch[0].shape[1] - 1).reshape(-1);
        var loss = nn.functional.cross_entropy(predicted, targets);
        return (loss, countCorrect ? predicted.argmax(1).eq(targets).sum().item<long>() : 0);
    }

    /// <summary>The logits of every position that has a next token, [B·(T − 1), vocabulary].</summary>
    public override Tensor Distributions(Tensor outputs, IReadOnlyList<Tensor> batch)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return outputs.narrow(1, 0, outputs.shape[1] - 1).reshape(-1, outputs.shape[2]);
    }
}
