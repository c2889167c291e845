using System.Globalization;
using Soup.Core.Jobs;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>How <see cref="GenerationEvaluation"/> samples and scores.</summary>
/// <param name="Sampling">How each completion is sampled.</param>
/// <param name="Rewards">The rewards that score each completion (gold rewards or reward models).</param>
/// <param name="Keep">Completions kept with the score (the first prompts').</param>
/// <param name="Seed">Seeds the draws: the same for every model scored, so models are compared on the same randomness.</param>
public sealed record GenerationOptions(SamplingOptions Sampling, IReadOnlyList<TextReward> Rewards, int Keep, int Seed);

/// <summary>
/// Scores a language model by what it generates: one completion per prompt, each scored by gold rewards, and the KL
/// of the model to a reference along the sampled sequences: at each completion token, the exact
/// KL(model(·|prefix) ‖ reference(·|prefix)) over the vocabulary, summed over the completion and averaged over
/// completions (nats). That is the quantity KL-regularised RL pays for, measured at the prefixes the model itself
/// reaches, with no sampling noise in each term.
/// </summary>
public static class GenerationEvaluation
{
    /// <summary>Sequences per forward pass of the KL (the logits of both models are held: B × T × 50,257 floats each).</summary>
    public const int KlBatch = 8;

    /// <summary>
    /// The prompts: the first <paramref name="promptTokens"/> tokens of the first <paramref name="count"/> documents
    /// with at least <see cref="TextCorpusSplit.MinPromptDocumentTokens"/> tokens.
    /// </summary>
    /// <exception cref="InvalidDataException">No document gives a prompt.</exception>
    public static IReadOnlyList<int[]> Prompts(IReadOnlyList<string> documents, TextTokenizer tokenizer, int count, int promptTokens)
    {
        var prompts = new TextCorpusSplit([], documents).Prompts(tokenizer, count, promptTokens);
        return prompts.Count > 0
            ? prompts
            : throw new InvalidDataException($"None of the {documents.Count} documents has {TextCorpusSplit.MinPromptDocumentTokens} tokens or more: no prompt to sample from.");
    }

    /// <summary>
    /// The prompts of a prompts file: the first <paramref name="count"/> non-empty documents, each whole (cut from the
    /// left at sampling time when longer than the context leaves room for).
    /// </summary>
    /// <exception cref="InvalidDataException">No document has a token.</exception>
    public static IReadOnlyList<int[]> WholePrompts(IReadOnlyList<string> documents, TextTokenizer tokenizer, int count)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var prompts = documents.Select(tokenizer.Encode).Where(ids => ids.Length > 0).Take(count).ToList();
        return prompts.Count > 0 ? prompts : throw new InvalidDataException($"None of the {documents.Count} prompts has a token.");
    }

    /// <summary>Samples from <paramref name="model"/> and scores the completions.</summary>
    /// <param name="name">The model's name in the score (its checkpoint).</param>
    /// <param name="model">The language model (CPU).</param>
    /// <param name="reference">The model the KL is measured to (same tokenizer and context), or null for none.</param>
    /// <param name="prompts">Token ids of the prompts; longer ones are cut from the left to leave room for the completion.</param>
    /// <param name="tokenizer">Decodes completions for the rewards.</param>
    /// <param name="options">How to sample and score.</param>
    /// <exception cref="InvalidDataException">A reward or the KL is not finite (the message names the model).</exception>
    public static GenerationScore Score(
        string name, Gpt2LanguageModel model, Gpt2LanguageModel? reference, IReadOnlyList<int[]> prompts, TextTokenizer tokenizer, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        var (fitted, truncated) = Gpt2Sampler.Fit(prompts, model.Config, options.Sampling.MaxNewTokens, tokenizer.EndOfText);
        using var generator = new Generator(unchecked((ulong)options.Seed));
        var completions = Gpt2Sampler.Sample(model, fitted, tokenizer.EndOfText, options.Sampling, generator).Completions;
        var texts = completions.Select(c => tokenizer.Decode(c)).ToList();
        var promptTexts = fitted.Select(p => tokenizer.Decode(p)).ToList();
        var byReward = options.Rewards.Select(r => r.Score(promptTexts, texts)).ToList();
        var rewards = texts.Select((_, i) => byReward.Select(scores => scores[i]).ToArray()).ToList();
        for (var i = 0; i < rewards.Count; i++)
        {
            for (var r = 0; r < options.Rewards.Count; r++)
            {
                if (!double.IsFinite(rewards[i][r]))
                    throw new InvalidDataException($"{name}: reward '{options.Rewards[r].Name}' of completion {i} is {rewards[i][r]}.");
            }
        }

        double? kl = null;
        if (reference is not null)
        {
            var perSequence = SequenceKl(model, reference, fitted, Actions(completions, options.Sampling, tokenizer.EndOfText), tokenizer.EndOfText);
            kl = perSequence.Count == 0 ? 0 : perSequence.Average();
            if (!double.IsFinite(kl.Value))
                throw new InvalidDataException($"{name}: the KL to the reference is {kl.Value.ToString(CultureInfo.InvariantCulture)}.");
        }

        return new GenerationScore(
            name,
            [.. options.Rewards.Select((r, j) => new RewardScore(r.Name, rewards.Count == 0 ? 0 : rewards.Average(x => x[j])))],
            kl,
            completions.Count == 0 ? 0 : completions.Average(c => c.Length),
            [.. Enumerable.Range(0, Math.Min(options.Keep, texts.Count)).Select(i => new GeneratedSample(promptTexts[i], texts[i], rewards[i]))],
            truncated);
    }

    /// <summary>
    /// Runs an evaluation job's <see cref="GenerationPlan"/>: the prompts cut from <paramref name="documents"/>, the plan's
    /// reward models loaded (read with <paramref name="read"/>), then each planned checkpoint (one at a time) sampled and
    /// scored against the reference.
    /// </summary>
    /// <param name="model">The job's model (a GPT-2 size).</param>
    /// <param name="plan">The plan.</param>
    /// <param name="checkpoints">The job's checkpoint blobs (the plan indexes them).</param>
    /// <param name="documents">The documents of <see cref="GenerationPlan.Prompts"/>.</param>
    /// <param name="read">Reads a checkpoint blob's tensors.</param>
    /// <param name="cancellationToken">Stops between checkpoints.</param>
    /// <exception cref="ArgumentException">
    /// The model is not a language model, a reward is unknown, a reward model cannot read what the model generates, an
    /// index is out of range or an option out of its range.
    /// </exception>
    /// <exception cref="InvalidDataException">
    /// A checkpoint does not fit the model or a reward model its size (the tensor is named), a reward model's checkpoint
    /// has no scalar head, no document gives a prompt, or a score is not finite.
    /// </exception>
    public static async Task<IReadOnlyList<GenerationScore>> RunAsync(
        string model,
        GenerationPlan plan,
        IReadOnlyList<string> checkpoints,
        IReadOnlyList<string> documents,
        Func<string, CancellationToken, Task<Merging.Checkpoints.SafetensorsContent>> read,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(read);
        var config = LanguageModelling.Config(model);
        if (plan.Checkpoints.Any(i => i < 0 || i >= checkpoints.Count))
            throw new ArgumentException($"generation.checkpoints must be indices into the job's {checkpoints.Count} checkpoints.", nameof(plan));
        var sampling = new SamplingOptions(plan.MaxNewTokens, plan.Temperature, plan.TopK, plan.TopP);
        sampling.Validate();
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        var prompts = plan.WholeDocuments ? WholePrompts(documents, tokenizer, plan.PromptCount) : Prompts(documents, tokenizer, plan.PromptCount, plan.PromptTokens);
        var room = config.Context - plan.MaxNewTokens;
        using var rewardModels = await RewardModelSet.LoadAsync(
            plan.RewardModels ?? [], model, config, prompts.Max(p => room > 0 ? Math.Min(p.Length, room) : p.Length) + plan.MaxNewTokens,
            async (blob, ct) => (await read(blob, ct)).Tensors, cancellationToken);
        var options = new GenerationOptions(sampling, [.. plan.Rewards.Select(name => TextReward.Named(name, rewardModels.ByName))], plan.Keep, plan.Seed);

        Gpt2LanguageModel Load(IReadOnlyList<Merging.Checkpoints.TensorData> tensors, string source)
        {
            var network = new Gpt2LanguageModel(config);
            try
            {
                TextSplit.LoadLanguageModel(network, tensors, source);
                network.to(TorchDevice.Preferred());
                return network;
            }
            catch
            {
                network.Dispose();
                throw;
            }
        }

        using var reference = plan.Reference is { } blob ? Load((await read(blob, cancellationToken)).Tensors, blob) : null;
        var scores = new List<GenerationScore>(plan.Checkpoints.Count);
        foreach (var index in plan.Checkpoints)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = checkpoints[index];
            var content = await read(name, cancellationToken);
            using var network = Load(content.Tensors, name);
            scores.Add(Score(name, network, reference, prompts, tokenizer, options) with { Training = Curve(content.Metadata), Reference = plan.Reference });
        }

        return scores;
    }

    /// <summary>
    /// What the model chose, token by token: each completion, and end-of-text after one that stopped before the budget
    /// (stopping is a choice too: the KL and RLOO's log-probabilities count it).
    /// </summary>
    internal static List<int[]> Actions(IReadOnlyList<int[]> completions, SamplingOptions sampling, int endOfText) =>
        [.. completions.Select(c => c.Length < sampling.MaxNewTokens && sampling.StopAtEndOfText ? [.. c, endOfText] : c)];

    /// <summary>The RL curve a checkpoint's metadata carries (<see cref="RlCurve.MetadataKey"/>), or null (none, or unreadable: it only informs).</summary>
    internal static RlCurve? Curve(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(RlCurve.MetadataKey, out var json))
            return null;
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize(json, Core.SoupJson.Default.RlCurve);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Prompt + completion rows, right-padded with <paramref name="padding"/>: the ids [B, W], each position's next
    /// token [B, W] (the target a position predicts), and 1 at the positions that predict a completion token, 0 elsewhere
    /// [B, W]. Causal attention keeps the padding out of every position that counts.
    /// </summary>
    internal static (Tensor Ids, Tensor Targets, Tensor Mask) Pack(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, int padding)
    {
        var rows = prompts.Count;
        var width = Enumerable.Range(0, rows).Max(i => prompts[i].Length + completions[i].Length);
        var ids = new long[rows * width];
        Array.Fill(ids, padding);
        var mask = new float[rows * width];
        for (var r = 0; r < rows; r++)
        {
            var (prompt, completion) = (prompts[r], completions[r]);
            if (prompt.Length == 0)
                throw new ArgumentException($"Prompt {r} is empty: a completion needs a token before it.", nameof(prompts));
            for (var t = 0; t < prompt.Length; t++)
                ids[(r * width) + t] = prompt[t];
            for (var t = 0; t < completion.Length; t++)
            {
                ids[(r * width) + prompt.Length + t] = completion[t];
                mask[(r * width) + prompt.Length + t - 1] = 1; // the position that predicts completion token t
            }
        }

        var targets = new long[rows * width];
        Array.Fill(targets, padding);
        for (var r = 0; r < rows; r++)
        {
            for (var t = 0; t + 1 < width; t++)
                targets[(r * width) + t] = ids[(r * width) + t + 1];
        }

        return (tensor(ids, [rows, width]), tensor(targets, [rows, width]), tensor(mask, [rows, width]));
    }

    /// <summary>
    /// For each prompt and its completion, Σ over the completion's tokens of KL(model ‖ reference) at the position that
    /// predicts the token. Rows are right-padded with <paramref name="padding"/>: causal attention keeps padding out of
    /// every position that counts.
    /// </summary>
    public static IReadOnlyList<double> SequenceKl(
        Gpt2LanguageModel model, Gpt2LanguageModel reference, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, int padding)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        if (reference.Config.VocabularySize != model.Config.VocabularySize)
            throw new ArgumentException($"The reference's vocabulary of {reference.Config.VocabularySize} tokens is not the model's {model.Config.VocabularySize}.", nameof(reference));
        var result = new double[prompts.Count];
        var (wasTraining, referenceWasTraining) = (model.training, reference.training);
        model.eval();
        reference.eval();
        try
        {
            using var noGrad = no_grad();
            for (var start = 0; start < prompts.Count; start += KlBatch)
            {
                using var scope = NewDisposeScope();
                var rows = Enumerable.Range(start, Math.Min(KlBatch, prompts.Count - start)).Where(i => completions[i].Length > 0).ToList();
                if (rows.Count == 0)
                    continue;
                var (input, _, mask) = Pack([.. rows.Select(i => prompts[i])], [.. rows.Select(i => completions[i])], padding);
                var p = nn.functional.log_softmax(model.forward(input).to(float32), 2);
                var q = nn.functional.log_softmax(reference.forward(input).to(float32), 2);
                var perPosition = (p.exp() * (p - q)).sum(2) * mask.to(p.device);
                var sums = perPosition.sum(1).to(float64).cpu().data<double>().ToArray();
                for (var r = 0; r < rows.Count; r++)
                    result[rows[r]] = sums[r];
            }
        }
        finally
        {
            model.train(wasTraining);
            reference.train(referenceWasTraining);
        }

        return result;
    }
}
