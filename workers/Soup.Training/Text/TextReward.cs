using System.Globalization;
using System.Text;
using Soup.Merging.Checkpoints;
using Soup.Training.Checkpoints;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>
/// A reward of completions, whatever computes it: a gold reward (a function of the completion's text) or a reward
/// model (a function of prompt + completion). Scores a batch at once, so that a model reads it in few passes.
/// </summary>
/// <param name="Name">Its name in reports and metadata.</param>
/// <param name="Score">Each completion's reward, given the prompts' texts and the completions' texts (same length).</param>
public sealed record TextReward(string Name, Func<IReadOnlyList<string>, IReadOnlyList<string>, double[]> Score)
{
    /// <summary>A gold reward, which reads the completion only.</summary>
    public static TextReward Of(GoldReward gold)
    {
        ArgumentNullException.ThrowIfNull(gold);
        return new TextReward(gold.Name, (_, completions) => [.. completions.Select(gold.Score)]);
    }

    /// <summary>The reward called <paramref name="name"/>: one of <paramref name="models"/>, else a gold reward.</summary>
    /// <exception cref="ArgumentException">Neither has that name; the message lists the known ones.</exception>
    public static TextReward Named(string name, IReadOnlyDictionary<string, RewardModelScorer>? models = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (models is not null && models.TryGetValue(name, out var model))
            return model.AsReward();
        if (Core.Jobs.GoldRewardNames.IsKnown(name))
            return Of(GoldRewards.Get(name));
        throw new ArgumentException($"Unknown reward '{name}': not a gold reward ({Core.Jobs.GoldRewardNames.Describe()}) nor a reward model of the job ({(models is { Count: > 0 } ? string.Join(", ", models.Keys) : "none")}).", nameof(name));
    }

    /// <summary>
    /// The weighted sum of <paramref name="terms"/>, named like <c>0.7·positivity+0.3·warm</c> (one term of weight 1:
    /// that reward itself).
    /// </summary>
    /// <exception cref="ArgumentException">No terms, a name twice, or a weight that is not finite.</exception>
    public static TextReward Sum(IReadOnlyList<(TextReward Reward, double Weight)> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        if (terms.Count == 0)
            throw new ArgumentException("A reward needs at least one term.", nameof(terms));
        for (var t = 0; t < terms.Count; t++)
        {
            var (reward, weight) = terms[t];
            if (!double.IsFinite(weight))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The weight of reward '{reward.Name}' is {weight}; it must be finite."), nameof(terms));
            if (terms.Take(t).Any(x => x.Reward.Name == reward.Name))
                throw new ArgumentException($"Reward '{reward.Name}' appears twice; give it once, with the sum of its weights.", nameof(terms));
        }

        if (terms.Count == 1 && terms[0].Weight == 1)
            return terms[0].Reward;
        var label = new StringBuilder();
        foreach (var (reward, weight) in terms)
            label.Append(weight < 0 ? "-" : label.Length > 0 ? "+" : "").Append(Math.Abs(weight).ToString(CultureInfo.InvariantCulture)).Append('·').Append(reward.Name);
        return new TextReward(label.ToString(), (prompts, completions) =>
        {
            var sum = new double[completions.Count];
            foreach (var (reward, weight) in terms)
            {
                var scores = reward.Score(prompts, completions);
                for (var i = 0; i < sum.Length; i++)
                    sum[i] += weight * scores[i];
            }

            return sum;
        });
    }
}

/// <summary>
/// A GPT-2 reward model used as a reward: prompt + completion are encoded as one text (as reward models are trained on
/// <c>prompt + chosen</c>), cut from the left to the model's context when longer (the reward is read at the last token),
/// and scored in batches without gradients.
/// </summary>
public sealed class RewardModelScorer : IDisposable
{
    /// <summary>Sequences per forward pass.</summary>
    public const int Batch = 16;

    private readonly Gpt2RewardModel _model;
    private readonly TextTokenizer _tokenizer;

    private RewardModelScorer(string name, Gpt2RewardModel model, TextTokenizer tokenizer)
    {
        Name = name;
        _model = model;
        _tokenizer = tokenizer;
        _model.eval();
    }

    /// <summary>The name rewards refer to it by.</summary>
    public string Name { get; }

    /// <summary>Its shape.</summary>
    public Gpt2Config Config => _model.Config;

    /// <summary>Sequences cut from the left to fit the context so far.</summary>
    public int Truncated { get; private set; }

    /// <summary>
    /// Loads the reward model <paramref name="name"/> of size <paramref name="model"/> from <paramref name="tensors"/>
    /// (read from <paramref name="source"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The checkpoint has no scalar head (<c>score.weight</c>: a language model, not a reward model), or a tensor does
    /// not fit the size (the message names the tensor and both shapes).
    /// </exception>
    /// <exception cref="ArgumentException">The size is not a GPT-2 size.</exception>
    public static RewardModelScorer Load(string name, string model, IReadOnlyList<TensorData> tensors, string source) =>
        Load(name, LanguageModelling.Config(model), tensors, source);

    /// <summary>Loads the reward model <paramref name="name"/> of shape <paramref name="config"/> (see the overload by size name).</summary>
    public static RewardModelScorer Load(string name, Gpt2Config config, IReadOnlyList<TensorData> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!Gpt2Checkpoint.Normalize(tensors).Any(t => t.Name.StartsWith(Gpt2RewardModel.HeadPrefix, StringComparison.Ordinal)))
            throw new InvalidDataException($"reward model '{name}': checkpoint '{source}' has no {Gpt2RewardModel.HeadPrefix}weight: it is a language model, not a reward model (train one on preference pairs: a 'warm' pipeline).");
        TorchSetup.Initialize();
        var network = new Gpt2RewardModel(config);
        try
        {
            Gpt2Checkpoint.Load(network, tensors, $"reward model '{name}' ({source})");
            network.to(TorchDevice.Preferred());
            return new RewardModelScorer(name, network, TextTokenizer.Get(TextTokenizer.Gpt2Name));
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Throws unless this reward model can read what <paramref name="policy"/> generates: the same vocabulary (the
    /// GPT-2 tokenizer) and a context that holds <paramref name="tokens"/> (prompt + completion).
    /// </summary>
    /// <exception cref="ArgumentException">It cannot; the message names both models and the numbers.</exception>
    public void CheckFits(Gpt2Config policy, int tokens)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.VocabularySize != Config.VocabularySize)
            throw new ArgumentException($"reward model '{Name}' ({Config.Name}) reads a vocabulary of {Config.VocabularySize} tokens; the policy ({policy.Name}) writes {policy.VocabularySize}: they do not share a tokenizer.");
        if (tokens > Config.Context)
            throw new ArgumentException($"reward model '{Name}' ({Config.Name}) reads at most {Config.Context} tokens; prompts and completions of up to {tokens} tokens would not fit: shorten promptTokens or maxNewTokens, or use a reward model with a longer context.");
    }

    /// <summary>The rewards of <paramref name="completions"/> after <paramref name="prompts"/> (not checked for NaN: the caller names where it was).</summary>
    public double[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        if (prompts.Count != completions.Count)
            throw new ArgumentException($"{prompts.Count} prompts for {completions.Count} completions.", nameof(completions));
        var context = Config.Context;
        var sequences = new List<int[]>(completions.Count);
        for (var i = 0; i < completions.Count; i++)
        {
            var ids = _tokenizer.Encode(prompts[i] + completions[i]);
            if (ids.Length == 0)
                ids = [_tokenizer.EndOfText];
            if (ids.Length > context)
            {
                ids = ids[^context..];
                Truncated++;
            }

            sequences.Add(ids);
        }

        var result = new double[sequences.Count];
        using var noGrad = no_grad();
        for (var start = 0; start < sequences.Count; start += Batch)
        {
            using var scope = NewDisposeScope();
            var (ids, lengths, _) = ContextPairs.RightPadded(sequences.GetRange(start, Math.Min(Batch, sequences.Count - start)), _tokenizer.EndOfText);
            var scores = _model.Score(ids, lengths).to(float64).cpu().data<double>();
            for (var r = 0; r < scores.Count; r++)
                result[start + r] = scores[r];
        }

        return result;
    }

    /// <summary>This model as a <see cref="TextReward"/> (valid while it is not disposed).</summary>
    public TextReward AsReward() => new(Name, Score);

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();
}

/// <summary>The reward models a job names, loaded, each checked to read what the job's policy generates; disposes them.</summary>
public sealed class RewardModelSet : IDisposable
{
    private readonly List<RewardModelScorer> _models;

    private RewardModelSet(List<RewardModelScorer> models)
    {
        _models = models;
        ByName = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The loaded models by name.</summary>
    public IReadOnlyDictionary<string, RewardModelScorer> ByName { get; }

    /// <summary>
    /// Reads and loads <paramref name="models"/> (their size: their own, else <paramref name="defaultModel"/>), one at a
    /// time, each checked against <paramref name="policy"/> for sequences of up to <paramref name="tokens"/> tokens.
    /// </summary>
    /// <exception cref="ArgumentException">A size is unknown, or a model cannot read what the policy generates.</exception>
    /// <exception cref="InvalidDataException">A checkpoint is not a reward model, or does not fit its size (the tensor is named).</exception>
    public static async Task<RewardModelSet> LoadAsync(
        IReadOnlyList<Core.Jobs.RewardModel> models, string defaultModel, Gpt2Config policy, int tokens,
        Func<string, CancellationToken, Task<IReadOnlyList<TensorData>>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(read);
        var loaded = new List<RewardModelScorer>(models.Count);
        try
        {
            foreach (var model in models)
            {
                var scorer = RewardModelScorer.Load(model.Name, model.Model ?? defaultModel, await read(model.Checkpoint, cancellationToken), model.Checkpoint);
                loaded.Add(scorer);
                scorer.CheckFits(policy, tokens);
            }

            return new RewardModelSet(loaded);
        }
        catch
        {
            loaded.ForEach(m => m.Dispose());
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _models.ForEach(m => m.Dispose());
}
