using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Soup.Training.Models;

/// <summary>
/// GPT-2 with its language-model head (Hugging Face's <c>GPT2LMHeadModel</c>): the head is the token embedding
/// (<c>transformer.wte.weight</c>, tied), so the state dict holds <c>transformer.*</c> only, as Hugging Face's
/// safetensors files do. <c>forward</c> maps token ids [B, T] to next-token logits [B, T, vocabulary].
/// </summary>
public sealed class Gpt2LanguageModel : Module<Tensor, Tensor>
{
    private readonly Gpt2Backbone transformer;

    /// <summary>Creates the model with weights drawn as GPT-2 does (from <paramref name="initGenerator"/>, or torch's global generator).</summary>
    /// <param name="config">The shape.</param>
    /// <param name="dropout">Embedding and residual dropout while training.</param>
    /// <param name="dropoutGenerator">The generator dropout draws from (null: torch's global one).</param>
    /// <param name="initGenerator">The generator the initial weights are drawn from.</param>
    public Gpt2LanguageModel(Gpt2Config config, double dropout = 0, Generator? dropoutGenerator = null, Generator? initGenerator = null) : base("GPT2LMHeadModel")
    {
        transformer = new Gpt2Backbone(config, dropout, dropoutGenerator);
        RegisterComponents();
        transformer.Initialize(initGenerator);
    }

    /// <summary>The shape.</summary>
    public Gpt2Config Config => transformer.Config;

    /// <summary>The transformer.</summary>
    public Gpt2Backbone Backbone => transformer;

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => Logits(input);

    /// <summary>Next-token logits [B, T, vocabulary] (see <see cref="Gpt2Backbone.Forward"/> for the arguments).</summary>
    public Tensor Logits(Tensor ids, Tensor? positions = null, Gpt2Cache? cache = null, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        var hidden = transformer.Forward(ids, positions, cache, mask);
        return functional.linear(hidden, transformer.TokenEmbedding).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            transformer.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// GPT-2 with a scalar head (Hugging Face's <c>GPT2ForSequenceClassification</c> with one label: <c>transformer.*</c>
/// and <c>score.weight</c> [1, width], no bias): a sequence's reward is the head applied to the hidden state of its last
/// token that is not padding.
/// </summary>
public sealed class Gpt2RewardModel : Module<Tensor, Tensor>
{
    private readonly Gpt2Backbone transformer;
    private readonly TorchSharp.Modules.Linear score;

    /// <summary>Creates the model with weights drawn as GPT-2 does.</summary>
    public Gpt2RewardModel(Gpt2Config config, double dropout = 0, Generator? dropoutGenerator = null, Generator? initGenerator = null) : base("GPT2ForSequenceClassification")
    {
        transformer = new Gpt2Backbone(config, dropout, dropoutGenerator);
        score = Linear(config.Width, 1, hasBias: false);
        RegisterComponents();
        Gpt2Backbone.InitializeWeights(this, "", config.Layers, initGenerator);
    }

    /// <summary>The shape.</summary>
    public Gpt2Config Config => transformer.Config;

    /// <summary>The state-dict prefix of the scalar head.</summary>
    public const string HeadPrefix = "score.";

    /// <summary>Rewards [B] of full-length sequences [B, T] (no padding).</summary>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var lengths = full(input.shape[0], input.shape[1], dtype: ScalarType.Int64, device: input.device);
        return Score(input, lengths);
    }

    /// <summary>
    /// Rewards [B] of right-padded sequences: <paramref name="ids"/> [B, T], <paramref name="lengths"/> [B] the number of
    /// real tokens of each (at least 1); the head reads position length − 1. Padding after a sequence cannot change its
    /// reward (attention is causal).
    /// </summary>
    public Tensor Score(Tensor ids, Tensor lengths)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(lengths);
        using var scope = NewDisposeScope();
        var hidden = transformer.Forward(ids);
        var last = lengths.to(ScalarType.Int64).sub(1).clamp(0, ids.shape[1] - 1).view(-1, 1, 1).expand(-1, 1, hidden.shape[2]);
        var picked = hidden.gather(1, last).squeeze(1);
        return score.forward(picked).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The Bradley–Terry loss of preference pairs: −log σ(r_chosen − r_rejected), averaged, where each pair's chosen
    /// completion is preferred to its rejected one.
    /// </summary>
    public static Tensor BradleyTerryLoss(Tensor chosen, Tensor rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        using var scope = NewDisposeScope();
        return functional.logsigmoid(chosen.sub(rejected)).mean().neg().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            transformer.Dispose();
            score.Dispose();
        }
        base.Dispose(disposing);
    }
}
