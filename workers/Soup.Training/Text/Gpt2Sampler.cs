using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>
/// Samples completions of a batch of prompts from a GPT-2 language model, one token at a time with a key/value cache.
/// Prompts of different lengths are left-padded and masked (a padded prompt gives the completion it gives alone);
/// draws come from the caller's generator, so a seed gives the same completions on the CPU every time.
/// </summary>
public static class Gpt2Sampler
{
    /// <summary>Samples one completion per prompt.</summary>
    /// <param name="model">The language model (put in eval mode for the call, then restored).</param>
    /// <param name="prompts">Token ids; an empty prompt starts from end-of-text, as GPT-2's unconditional samples do.</param>
    /// <param name="endOfText">The end-of-text id: it ends a completion, and pads.</param>
    /// <param name="options">How to sample.</param>
    /// <param name="generator">The generator draws come from (CPU).</param>
    /// <returns>The completions, and how many prompts were cut from the left to leave room for <see cref="SamplingOptions.MaxNewTokens"/>.</returns>
    /// <exception cref="ArgumentException">No room in the context for even one prompt token and the new tokens.</exception>
    public static SamplingResult Sample(Gpt2LanguageModel model, IReadOnlyList<int[]> prompts, int endOfText, SamplingOptions options, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (prompts.Count == 0)
            return new SamplingResult([], 0);
        var (fitted, truncated) = Fit(prompts, model.Config, options.MaxNewTokens, endOfText);
        var wasTraining = model.training;
        model.eval();
        try
        {
            return new SamplingResult(Generate(model, fitted, endOfText, options, generator), truncated);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// The prompts as sampling takes them, the one rule for every caller: an empty prompt becomes end-of-text (GPT-2's
    /// unconditional start), and a prompt longer than the context leaves room for is cut from the left; with how many were cut.
    /// </summary>
    /// <exception cref="ArgumentException">No room in the context for even one prompt token and the new tokens.</exception>
    public static (List<int[]> Prompts, int Truncated) Fit(IReadOnlyList<int[]> prompts, Gpt2Config config, int maxNewTokens, int endOfText)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(config);
        var room = config.Context - maxNewTokens;
        if (room < 1)
            throw new ArgumentException($"maxNewTokens {maxNewTokens} leaves no room for a prompt in {config.Name}'s context of {config.Context} tokens.", nameof(maxNewTokens));
        return ([.. prompts.Select(p => p.Length == 0 ? [endOfText] : p.Length > room ? p[^room..] : p)], prompts.Count(p => p.Length > room));
    }

    private static List<int[]> Generate(Gpt2LanguageModel model, List<int[]> prompts, int endOfText, SamplingOptions options, Generator? generator)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var device = model.Backbone.TokenEmbedding.device;
        var batch = prompts.Count;
        var width = prompts.Max(p => p.Length);

        // Left padding: every prompt ends at the same column, so each step appends one column for all.
        var ids = new long[batch * width];
        var real = new bool[batch * width];
        for (var b = 0; b < batch; b++)
        {
            var offset = width - prompts[b].Length;
            for (var t = 0; t < width; t++)
            {
                ids[(b * width) + t] = t < offset ? endOfText : prompts[b][t - offset];
                real[(b * width) + t] = t >= offset;
            }
        }

        var input = tensor(ids, [batch, width], device: device);
        var keys = tensor(real, [batch, width], device: device);
        var positions = keys.to(ScalarType.Int64).cumsum(1).sub(1).clamp_min(0);

        // A position attends to the real positions up to itself, and always to itself (a padding row must not be empty).
        // Without padding the causal rule is the whole mask, and the fused attention needs none.
        var padded = prompts.Any(p => p.Length != width);
        Tensor? mask = null;
        if (padded)
        {
            var causal = ones(width, width, dtype: ScalarType.Bool, device: device).tril();
            var itself = eye(width, dtype: ScalarType.Bool, device: device);
            mask = causal.logical_and(keys.view(batch, 1, 1, width)).logical_or(itself);
        }

        using var cache = new Gpt2Cache(model.Config.Layers);
        var logits = model.Logits(input, positions, cache, mask).select(1, -1);
        var last = positions.select(1, -1);
        var done = zeros(batch, dtype: ScalarType.Bool, device: device);
        var steps = new List<Tensor>();
        for (var step = 0; step < options.MaxNewTokens; step++)
        {
            var next = Pick(logits, options, generator).to(device);
            if (options.StopAtEndOfText)
                next = next.masked_fill(done, endOfText);
            steps.Add(next);
            if (options.StopAtEndOfText)
            {
                done = done.logical_or(next.eq(endOfText));
                if (done.all().item<bool>())
                    break;
            }

            if (step + 1 == options.MaxNewTokens)
                break;
            last = last.add(1);
            Tensor? stepMask = null;
            if (padded)
            {
                keys = cat([keys, ones(batch, 1, dtype: ScalarType.Bool, device: device)], 1);
                stepMask = keys.view(batch, 1, 1, -1);
            }

            logits = model.Logits(next.view(batch, 1), last.view(batch, 1), cache, stepMask).select(1, -1);
        }

        var drawn = stack(steps, 1).cpu();
        var values = drawn.data<long>().ToArray();
        var count = steps.Count;
        var completions = new List<int[]>(batch);
        for (var b = 0; b < batch; b++)
        {
            var row = values.AsSpan(b * count, count);
            var end = options.StopAtEndOfText ? row.IndexOf(endOfText) : -1;
            completions.Add([.. (end < 0 ? row : row[..end]).ToArray().Select(v => (int)v)]);
        }

        return completions;
    }

    /// <summary>
    /// Draws one token per row of <paramref name="logits"/> [B, V]: greedy at temperature 0, else from the softmax of
    /// logits / temperature restricted to the top k, then to the nucleus of mass p (the most likely token is always kept).
    /// </summary>
    internal static Tensor Pick(Tensor logits, SamplingOptions options, Generator? generator)
    {
        using var scope = NewDisposeScope();
        if (options.Temperature == 0)
            return logits.argmax(-1).MoveToOuterDisposeScope();
        var scaled = logits.to(ScalarType.Float32).div(options.Temperature);
        var vocabulary = scaled.shape[1];
        var topK = options.TopK > 0 && options.TopK < vocabulary;
        if (!topK && options.TopP >= 1)
            return scaled.softmax(-1).cpu().multinomial(1, generator: generator).squeeze(1).MoveToOuterDisposeScope();

        // The candidates, most likely first: the top k (a partial sort), or every token (a full sort) for top-p alone.
        var (candidates, tokens) = topK ? scaled.topk(options.TopK, dim: -1) : scaled.sort(-1, descending: true);
        if (options.TopP < 1)
        {
            var probabilities = candidates.softmax(-1);
            var before = probabilities.cumsum(-1).sub(probabilities); // mass of the more likely candidates
            candidates = candidates.masked_fill(before.ge(options.TopP), double.NegativeInfinity);
        }

        var drawn = candidates.softmax(-1).cpu().multinomial(1, generator: generator).to(tokens.device);
        return tokens.gather(1, drawn).squeeze(1).MoveToOuterDisposeScope();
    }
}
