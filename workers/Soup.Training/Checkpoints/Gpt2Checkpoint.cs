using Soup.Merging.Checkpoints;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Checkpoints;

/// <summary>
/// Loads GPT-2 weights by Hugging Face's names into <see cref="Gpt2LanguageModel"/> and <see cref="Gpt2RewardModel"/>.
/// Accepts both layouts Hugging Face publishes: the <c>gpt2</c> repository's (names without <c>transformer.</c>, no
/// <c>lm_head.weight</c>) and the full model's (<c>transformer.*</c>, the tied <c>lm_head.weight</c>, the
/// <c>attn.bias</c>/<c>attn.masked_bias</c> mask buffers), which are ignored; our own checkpoints are the first form
/// with the prefix. A reward model loads a language model's (or a backbone's) weights and keeps its drawn head.
/// </summary>
public static class Gpt2Checkpoint
{
    private const string Prefix = "transformer.";

    /// <summary>The name of the language-model head Hugging Face saves beside the (tied) token embedding.</summary>
    private const string TiedHead = "lm_head.weight";

    /// <summary>Loads <paramref name="tensors"/> into <paramref name="model"/>, strictly (every name and shape must fit).</summary>
    /// <exception cref="InvalidDataException">A tensor is missing, unexpected or of another shape or dtype; the message names it and both shapes.</exception>
    public static void Load(nn.Module model, IReadOnlyList<TensorData> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tensors);
        var named = Normalize(tensors);
        if (model is Gpt2RewardModel && !named.Any(t => t.Name.StartsWith(Gpt2RewardModel.HeadPrefix, StringComparison.Ordinal)))
        {
            // A language model (or backbone) as the reward model's init: its transformer, and the head as drawn.
            using var noGrad = no_grad();
            var head = model.state_dict().Where(e => e.Key.StartsWith(Gpt2RewardModel.HeadPrefix, StringComparison.Ordinal)).ToList();
            named = [.. named, .. head.Select(e => TorchCheckpoint.ToTensorData(e.Key, e.Value))];
        }

        TorchCheckpoint.Load(model, named, source);
    }

    /// <summary>Hugging Face's names mapped to ours: the prefix added where missing, the tied head and mask buffers dropped.</summary>
    public static IReadOnlyList<TensorData> Normalize(IReadOnlyList<TensorData> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var result = new List<TensorData>(tensors.Count);
        foreach (var tensor in tensors)
        {
            var name = tensor.Name;
            if (name == TiedHead || name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
                continue;
            var ours = name.StartsWith(Prefix, StringComparison.Ordinal) || name.StartsWith(Gpt2RewardModel.HeadPrefix, StringComparison.Ordinal)
                ? name
                : Prefix + name;
            result.Add(tensor with { Name = ours });
        }

        return result;
    }
}
