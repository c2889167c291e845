using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

/// <summary>GPT-2 models for tests: small shapes, seeded weights far enough from the init that every part matters.</summary>
internal static class Gpt2Models
{
    /// <summary>2 layers × 32, 4 heads, 24 positions, GPT-2's vocabulary.</summary>
    public static Gpt2Config Small { get; } = new("gpt2-test", Gpt2Config.Gpt2Vocabulary, 24, 32, 2, 4);

    /// <summary>A language model with seeded weights: projections and embeddings of std 0.1 (sharp attention), norms and biases perturbed.</summary>
    public static Gpt2LanguageModel LanguageModel(Gpt2Config? config = null, ulong seed = 1)
    {
        using var generator = new Generator(seed);
        var model = new Gpt2LanguageModel(config ?? Small, initGenerator: generator);
        Sharpen(model, seed);
        model.eval();
        return model;
    }

    /// <summary>A reward model with seeded weights, as <see cref="LanguageModel"/>.</summary>
    public static Gpt2RewardModel RewardModel(Gpt2Config? config = null, ulong seed = 1)
    {
        using var generator = new Generator(seed);
        var model = new Gpt2RewardModel(config ?? Small, initGenerator: generator);
        Sharpen(model, seed);
        model.eval();
        return model;
    }

    /// <summary>Token ids [rows, length] drawn uniformly from the vocabulary.</summary>
    public static Tensor Ids(long rows, long length, ulong seed)
    {
        using var generator = new Generator(seed);
        return randint(0, Gpt2Config.Gpt2Vocabulary, [rows, length], dtype: ScalarType.Int64, generator: generator);
    }

    private static void Sharpen(nn.Module model, ulong seed)
    {
        using (no_grad())
        {
            foreach (var (_, parameter) in model.named_parameters())
            {
                if (parameter.dim() == 2)
                    parameter.mul_(5);
            }
        }

        ModelTensors.PerturbNorms(model, seed + 100);
    }

    /// <summary>
    /// Makes end-of-text the most likely next token everywhere: the final norm outputs a constant vector along
    /// end-of-text's embedding, scaled up so its logit dominates.
    /// </summary>
    public static void ForceEndOfText(Gpt2LanguageModel model)
    {
        using var noGrad = no_grad();
        var state = model.state_dict();
        var embedding = state["transformer.wte.weight"];
        embedding[50256] = embedding[50256].mul(50);
        state["transformer.ln_f.weight"].zero_();
        state["transformer.ln_f.bias"].copy_(embedding[50256]);
    }
}
