using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.Evaluation;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>
/// Preference pairs to evaluate reward models on, as a two-class evaluation: the logits of a pair are its chosen and
/// rejected rewards and its label is 0 (chosen), so accuracy is pairwise accuracy, the loss is the Bradley–Terry loss,
/// and the ensemble of reward models averages their preference probabilities σ(r_chosen − r_rejected). Held-out pairs
/// with clean labels, with noisy labels and with other prompts are each a split.
/// </summary>
public sealed class PreferenceSplit : IEvaluationData
{
    private readonly ContextPairs _pairs;

    /// <summary>Creates the split; sequences longer than <paramref name="context"/> keep their last tokens.</summary>
    public PreferenceSplit(IReadOnlyList<TokenPair> pairs, int context, int padding)
        => _pairs = new ContextPairs(pairs, context, padding);

    /// <summary>The context sequences were cut to.</summary>
    public int Context => _pairs.Context;

    /// <summary>Sequences cut to the context.</summary>
    public int Truncated => _pairs.Truncated;

    /// <inheritdoc />
    public int Count => _pairs.Count;

    /// <inheritdoc />
    public int Classes => 2;

    /// <inheritdoc />
    public string Kind => $"preference pairs of at most {Context} tokens";

    /// <inheritdoc />
    public nn.Module CreateModel(string model) => new Gpt2RewardModel(LanguageModelling.Config(model));

    /// <inheritdoc />
    public void Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (!tensors.Any(t => t.Name == Gpt2RewardModel.HeadPrefix + "weight"))
            throw new InvalidDataException($"{source}: no tensor '{Gpt2RewardModel.HeadPrefix}weight': it is not a reward model.");
        Gpt2Checkpoint.Load(model, tensors, source);
    }

    /// <inheritdoc />
    public (Tensor Logits, Tensor Labels) Outputs(nn.Module model, long[] indices, Device device)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var (ids, lengths, _) = _pairs.Batch(indices);
        using (ids)
        using (lengths)
        {
            var rewards = ((Gpt2RewardModel)model).Score(ids.to(device), lengths.to(device));
            var n = indices.Length;
            var logits = stack([rewards.narrow(0, 0, n), rewards.narrow(0, n, n)], 1);
            return (logits, zeros(n, dtype: ScalarType.Int64, device: device));
        }
    }
}
