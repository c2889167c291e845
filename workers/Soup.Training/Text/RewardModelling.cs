using Soup.Core.Jobs;
using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>
/// Reward modelling: a GPT-2 reward model (<see cref="Gpt2RewardModel"/>) trained with the Bradley–Terry loss on
/// preference pairs. Sequences longer than the context keep their last tokens (where the reward is read). Accuracy is
/// the share of pairs whose chosen sequence scores higher; throughput counts tokens. A linear probe trains
/// <c>score.weight</c> only; an anchor is refused (a reward has no distribution to compare).
/// </summary>
public sealed class RewardModelling : TrainingObjective
{
    private readonly ContextPairs _pairs;

    /// <summary>Creates the task on <paramref name="pairs"/>, cut to <paramref name="context"/> tokens from the left.</summary>
    /// <param name="pairs">The pairs (each sequence at least one token).</param>
    /// <param name="context">The model's context.</param>
    /// <param name="padding">The id that pads batches (end-of-text); padding never reaches a reward.</param>
    public RewardModelling(IReadOnlyList<TokenPair> pairs, int context, int padding)
        => _pairs = new ContextPairs(pairs, context, padding);

    /// <summary>The context the sequences were cut to.</summary>
    public int Context => _pairs.Context;

    /// <summary>Sequences longer than the context, cut from the left.</summary>
    public override int Truncated => _pairs.Truncated;

    /// <inheritdoc />
    public override int Count => _pairs.Count;

    /// <inheritdoc />
    public override string Unit => "tokens";

    /// <inheritdoc />
    public override long PredictionsPerExample => 1;

    /// <inheritdoc />
    public override void Validate(FineTuneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = LanguageModelling.Config(options.Model);
        if (Context > config.Context)
            Refuse(nameof(options.Model), $"Sequences cut to {Context} tokens exceed {config.Name}'s context of {config.Context}.");
        if (options.Settings.AnchorWeight > 0)
            Refuse(nameof(TrainSettings.AnchorWeight), "anchorWeight compares output distributions; a reward model outputs a scalar.");
        if (options.Settings.ClassWeights is not null)
            Refuse(nameof(TrainSettings.ClassWeights), "classWeights are for classifiers, not reward models.");
    }

    /// <inheritdoc />
    public override nn.Module CreateModel(string model, int seed, double dropout, Generator? dropoutGenerator)
    {
        Training.TorchSetup.Initialize();
        using var init = new Generator(unchecked((ulong)seed));
        return new Gpt2RewardModel(LanguageModelling.Config(model), dropout, dropoutGenerator, init);
    }

    /// <inheritdoc />
    public override void Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source) => Gpt2Checkpoint.Load(model, tensors, source);

    /// <inheritdoc />
    public override string HeadPrefix(nn.Module model) => Gpt2RewardModel.HeadPrefix;

    /// <summary>Ids [2B, L] right-padded (the chosen sequences, then the rejected, in pair order) and their lengths [2B].</summary>
    public override TrainingBatch Batch(long[] indices, Random random)
    {
        var (ids, lengths, tokens) = _pairs.Batch(indices);
        return new TrainingBatch([ids, lengths], tokens);
    }

    /// <summary>The rewards [2B] of the batch's sequences.</summary>
    public override Tensor Forward(nn.Module model, IReadOnlyList<Tensor> batch) => ((Gpt2RewardModel)model).Score(batch[0], batch[1]);

    /// <inheritdoc />
    public override (Tensor Loss, long Correct) Loss(Tensor outputs, IReadOnlyList<Tensor> batch, bool countCorrect)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var pairs = outputs.shape[0] / 2;
        var chosen = outputs.narrow(0, 0, pairs);
        var rejected = outputs.narrow(0, pairs, pairs);
        var loss = Gpt2RewardModel.BradleyTerryLoss(chosen, rejected);
        return (loss, countCorrect ? chosen.gt(rejected).sum().item<long>() : 0);
    }

    /// <inheritdoc />
    public override Tensor? Distributions(Tensor outputs, IReadOnlyList<Tensor> batch) => null;
}
