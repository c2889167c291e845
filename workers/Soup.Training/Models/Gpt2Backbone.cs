using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// GPT-2's transformer (Hugging Face's <c>GPT2Model</c>: <c>wte</c>, <c>wpe</c>, <c>h.{i}</c>, <c>ln_f</c>), held by the
/// language model and the reward model under the name <c>transformer</c>. Maps token ids to the final hidden states.
/// </summary>
public sealed class Gpt2Backbone : Module
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly SeededDropout drop;
    private readonly ModuleList<Gpt2Block> h;
    private readonly LayerNorm ln_f;

    /// <summary>Creates the transformer with zero weights; <see cref="Initialize"/> draws them.</summary>
    /// <param name="config">The shape.</param>
    /// <param name="dropout">Embedding and residual dropout (Hugging Face's <c>embd_pdrop</c>, <c>resid_pdrop</c>); attention weights are not dropped.</param>
    /// <param name="generator">The generator dropout draws from (null: torch's global one).</param>
    public Gpt2Backbone(Gpt2Config config, double dropout = 0, Generator? generator = null) : base("GPT2Model")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        wte = Embedding(config.VocabularySize, config.Width);
        wpe = Embedding(config.Context, config.Width);
        drop = new SeededDropout(dropout, generator);
        h = new ModuleList<Gpt2Block>([.. Enumerable.Range(0, config.Layers).Select(_ => new Gpt2Block(config, dropout, generator))]);
        ln_f = LayerNorm(config.Width, config.LayerNormEpsilon);
        RegisterComponents();
    }

    /// <summary>The shape.</summary>
    public Gpt2Config Config { get; }

    /// <summary>The token embedding [vocabulary, width], which the language model's head shares.</summary>
    public Parameter TokenEmbedding => wte.weight!;

    /// <summary>
    /// Draws the weights as Hugging Face's GPT-2 does: normal(0, 0.02) for embeddings and projections, the residual
    /// projections (<c>c_proj</c>) scaled by 1/√(2·layers), biases 0, layer norms 1 and 0.
    /// </summary>
    public void Initialize(Generator? generator = null) => InitializeWeights(this, "", Config.Layers, generator);

    /// <summary>Initialises the parameters of <paramref name="module"/> by name, as <see cref="Initialize"/> describes.</summary>
    internal static void InitializeWeights(Module module, string prefix, int layers, Generator? generator)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            var full = prefix + name;
            var isNorm = full.Contains(".ln_", StringComparison.Ordinal) || full.StartsWith("ln_", StringComparison.Ordinal);
            if (full.EndsWith(".bias", StringComparison.Ordinal))
                parameter.zero_();
            else if (isNorm)
                parameter.fill_(1.0);
            else if (full.EndsWith("c_proj.weight", StringComparison.Ordinal))
                parameter.normal_(0, 0.02 / Math.Sqrt(2.0 * layers), generator);
            else
                parameter.normal_(0, 0.02, generator);
        }
    }

    /// <summary>
    /// The final hidden states [B, T, width] of <paramref name="ids"/> [B, T].
    /// </summary>
    /// <param name="ids">Token ids, int64.</param>
    /// <param name="positions">Position ids [B, T] (null: past length, past length + 1, ...).</param>
    /// <param name="cache">Keys and values of earlier positions, extended with these (null: none).</param>
    /// <param name="mask">Which keys each position may attend to, bool [B, 1, T, past + T] (null: causal).</param>
    /// <remarks>Inputs on another device than the model's (CPU batches for a model on the GPU) are moved to the model's; the result is on the model's device.</remarks>
    /// <exception cref="ArgumentException">A sequence runs past the context, or a token id is outside the vocabulary.</exception>
    public Tensor Forward(Tensor ids, Tensor? positions = null, Gpt2Cache? cache = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var past = cache?.Length ?? 0;
        var length = ids.shape[1];
        if (past + length > Config.Context)
            throw new ArgumentException($"{past + length} positions exceed the context of {Config.Name} ({Config.Context}).", nameof(ids));
        if (ids.numel() > 0 && ids.lt(0).logical_or(ids.ge(Config.VocabularySize)).any().item<bool>())
            throw new ArgumentException($"A token id is outside {Config.Name}'s vocabulary [0, {Config.VocabularySize}).", nameof(ids));

        using var scope = NewDisposeScope();
        var device = TokenEmbedding.device;
        ids = ids.to(device);
        positions = positions?.to(device) ?? arange(past, past + length, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(ids.shape[0], length);
        mask = mask?.to(device);
        var x = drop.forward(wte.forward(ids).add(wpe.forward(positions)));
        for (var i = 0; i < h.Count; i++)
            x = h[i].Forward(x, cache?[i], mask);
        return ln_f.forward(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            wte.Dispose();
            wpe.Dispose();
            drop.Dispose();
            foreach (var block in h)
                block.Dispose();
            h.Dispose();
            ln_f.Dispose();
        }
        base.Dispose(disposing);
    }
}
