namespace Soup.Training.Models;

/// <summary>
/// The shape of a GPT-2 model, with Hugging Face's <c>GPT2Config</c> meanings: vocabulary, context (positions), width,
/// layers, heads. The named sizes are Hugging Face's <c>gpt2</c> and <c>distilgpt2</c> and a small one for CPUs.
/// </summary>
/// <param name="Name">The model name a spec uses.</param>
/// <param name="VocabularySize">Token ids are in [0, VocabularySize) (GPT-2's BPE: 50,257, end-of-text last).</param>
/// <param name="Context">The most positions a sequence may have (<c>n_positions</c>).</param>
/// <param name="Width">The embedding width (<c>n_embd</c>).</param>
/// <param name="Layers">Transformer blocks (<c>n_layer</c>).</param>
/// <param name="Heads">Attention heads per block (<c>n_head</c>); divides <paramref name="Width"/>.</param>
/// <param name="LayerNormEpsilon">The layer norms' epsilon (<c>layer_norm_epsilon</c>).</param>
public sealed record Gpt2Config(string Name, int VocabularySize, int Context, int Width, int Layers, int Heads, double LayerNormEpsilon = 1e-5)
{
    /// <summary>GPT-2's vocabulary size: 50,000 merges, 256 bytes and end-of-text.</summary>
    public const int Gpt2Vocabulary = 50257;

    /// <summary>Hugging Face's <c>gpt2</c> (124M parameters): 12 layers × 768, 12 heads, 1,024 positions. For GPUs.</summary>
    public static Gpt2Config Gpt2 { get; } = new("gpt2", Gpt2Vocabulary, 1024, 768, 12, 12);

    /// <summary>Hugging Face's <c>distilgpt2</c> (82M parameters): 6 layers × 768, 12 heads, 1,024 positions.</summary>
    public static Gpt2Config DistilGpt2 { get; } = new("distilgpt2", Gpt2Vocabulary, 1024, 768, 6, 12);

    /// <summary>
    /// A GPT-2 small enough for the CPU demo and tests: 4 layers × 128, 4 heads, 128 positions, GPT-2's vocabulary
    /// (7,242,624 parameters, 89 % of them the tied token embedding).
    /// </summary>
    public static Gpt2Config Tiny { get; } = new("gpt2-tiny", Gpt2Vocabulary, 128, 128, 4, 4);

    /// <summary>The named sizes, by name.</summary>
    public static IReadOnlyList<Gpt2Config> Named { get; } = [Tiny, DistilGpt2, Gpt2];

    /// <summary>Width of one head.</summary>
    public int HeadWidth => Width / Heads;

    /// <summary>The named size called <paramref name="name"/>, or null.</summary>
    public static Gpt2Config? Find(string name) => Named.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal));

    /// <summary>Throws when the shape is not one a GPT-2 can have.</summary>
    /// <exception cref="ArgumentException">A size is not positive, or the heads do not divide the width.</exception>
    public void Validate()
    {
        if (VocabularySize < 1 || Context < 1 || Width < 1 || Layers < 1 || Heads < 1)
            throw new ArgumentException($"GPT-2 '{Name}': every size must be at least 1 ({this}).");
        if (Width % Heads != 0)
            throw new ArgumentException($"GPT-2 '{Name}': {Heads} heads do not divide the width {Width}.");
        if (!(LayerNormEpsilon > 0))
            throw new ArgumentException($"GPT-2 '{Name}': the layer norms' epsilon must be positive, not {LayerNormEpsilon}.");
    }
}
