using Soup.Training.Data;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>How <see cref="PreferenceGeneration"/> makes pairs.</summary>
/// <param name="TrainPairs">Pairs for the (noisy) training dataset.</param>
/// <param name="TestPairs">Pairs with clean labels, from other prompts, for the test dataset.</param>
/// <param name="Sampling">How each completion is sampled.</param>
/// <param name="NoiseFraction">The share of training pairs whose labels are flipped (WARM's label noise), in [0, 0.5].</param>
/// <param name="Seed">Seeds the sampling and the flips.</param>
/// <param name="BatchSize">Prompts sampled at once.</param>
public sealed record PairGenerationOptions(int TrainPairs, int TestPairs, SamplingOptions Sampling, double NoiseFraction, int Seed, int BatchSize = 16);

/// <summary>How far <see cref="PreferenceGeneration"/> is with one part (<c>training</c> or <c>test</c>): reported after each batch of prompts.</summary>
/// <param name="Part">The part.</param>
/// <param name="Made">Its pairs so far.</param>
/// <param name="Wanted">Its pairs asked for.</param>
/// <param name="Ties">Prompts skipped as ties so far, in all parts.</param>
public sealed record PairProgress(string Part, int Made, int Wanted, int Ties)
{
    /// <inheritdoc />
    public override string ToString() => $"{Part}: {Made} of {Wanted} pairs ({Ties} ties skipped so far)";
}

/// <summary>What <see cref="PreferenceGeneration"/> made.</summary>
/// <param name="Train">The training pairs, with <see cref="PairGenerationOptions.NoiseFraction"/> of their labels flipped.</param>
/// <param name="TrainClean">The same pairs with the gold labels.</param>
/// <param name="Test">Pairs of other prompts with the gold labels.</param>
/// <param name="Flipped">Training pairs whose label was flipped.</param>
/// <param name="Ties">Prompts skipped because both completions scored the same.</param>
/// <param name="Empty">Prompts skipped because a completion was empty (end-of-text at once).</param>
/// <param name="PromptsUsed">Prompts sampled (a prompt sampled in several passes counts each time).</param>
/// <param name="TruncatedPrompts">Prompts cut from the left to fit the context.</param>
public sealed record GeneratedPairs(
    IReadOnlyList<PreferencePair> Train, IReadOnlyList<PreferencePair> TrainClean, IReadOnlyList<PreferencePair> Test, int Flipped, int Ties, int Empty, int PromptsUsed, int TruncatedPrompts);

/// <summary>
/// Preference pairs as WARM makes them: two completions of each prompt sampled from a policy, labelled by a gold
/// reward (the higher one is chosen; a tie, or an empty completion, is skipped), then a fraction of the training labels flipped. The prompts are
/// cut in two in proportion to the pairs asked for, so training and test pairs never share a prompt; each part is gone
/// through again (new samples) until it has given its pairs, at most <see cref="MaxPasses"/> times.
/// </summary>
public static class PreferenceGeneration
{
    /// <summary>The most times the prompts of one part are sampled.</summary>
    public const int MaxPasses = 8;

    /// <summary>Samples pairs from <paramref name="policy"/> for <paramref name="prompts"/>.</summary>
    /// <exception cref="InvalidDataException">A part's prompts did not give its pairs in <see cref="MaxPasses"/> passes; the message gives the counts.</exception>
    public static GeneratedPairs Generate(
        Gpt2LanguageModel policy, IReadOnlyList<int[]> prompts, TextTokenizer tokenizer, GoldReward reward, PairGenerationOptions options, IProgress<PairProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TrainPairs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.TestPairs);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        var trainPrompts = options.TestPairs == 0
            ? prompts.Count
            : (int)Math.Round(prompts.Count * (double)options.TrainPairs / (options.TrainPairs + options.TestPairs), MidpointRounding.AwayFromZero);
        if (trainPrompts < 1 || (options.TestPairs > 0 && trainPrompts >= prompts.Count))
            throw new InvalidDataException($"{prompts.Count} prompts cannot be cut into training and test prompts: give more prompts.");

        using var generator = new Generator(unchecked((ulong)options.Seed));
        var tally = new Tally();
        var clean = Collect(policy, [.. prompts.Take(trainPrompts)], options.TrainPairs, "training", tokenizer, reward, options, generator, tally, progress);
        var test = Collect(policy, [.. prompts.Skip(trainPrompts)], options.TestPairs, "test", tokenizer, reward, options, generator, tally, progress);
        var (noisy, flipped) = LabelNoise.Flip(clean, options.NoiseFraction, options.Seed);
        return new GeneratedPairs(noisy, clean, test, flipped.Count(f => f), tally.Ties, tally.Empty, tally.Used, tally.Truncated);
    }

    private static List<PreferencePair> Collect(
        Gpt2LanguageModel policy, List<int[]> prompts, int wanted, string part, TextTokenizer tokenizer, GoldReward reward, PairGenerationOptions options,
        Generator generator, Tally tally, IProgress<PairProgress>? progress)
    {
        var pairs = new List<PreferencePair>(wanted);
        for (var pass = 0; pass < MaxPasses && pairs.Count < wanted; pass++)
        {
            for (var start = 0; start < prompts.Count && pairs.Count < wanted; start += options.BatchSize)
            {
                var batch = prompts.Skip(start).Take(options.BatchSize).ToList();
                tally.Used += batch.Count;
                var sampled = Gpt2Sampler.Sample(policy, [.. batch.SelectMany(p => new[] { p, p })], tokenizer.EndOfText, options.Sampling, generator);
                tally.Truncated += sampled.TruncatedPrompts / 2;
                for (var i = 0; i < batch.Count && pairs.Count < wanted; i++)
                {
                    Label(tokenizer.Decode(batch[i]), tokenizer.Decode(sampled.Completions[2 * i]), tokenizer.Decode(sampled.Completions[(2 * i) + 1]), reward, tally, pairs);
                }

                progress?.Report(new PairProgress(part, pairs.Count, wanted, tally.Ties));
            }
        }

        return pairs.Count == wanted
            ? pairs
            : throw new InvalidDataException(
                $"{prompts.Count} {part} prompts sampled {MaxPasses} times gave {pairs.Count} pairs ({tally.Ties} ties skipped in all), fewer than the {wanted} asked for: give more prompts or fewer pairs.");
    }

    /// <summary>
    /// Pairs of real continuations instead of samples: the prompt is a document's first <paramref name="promptTokens"/>
    /// tokens, one completion is the document's next <see cref="SamplingOptions.MaxNewTokens"/> tokens and the other
    /// the same tokens of another document of the same part (a fresh partner on each pass), labelled and flipped as
    /// <see cref="Generate"/> does. No model is involved, so it takes seconds; the completions are English as people
    /// wrote it, which a reward model can learn from in minutes on a CPU, where a small policy's samples are noise.
    /// Documents are cut into training and test parts in proportion to the pairs, so no prompt or completion is in both.
    /// </summary>
    /// <exception cref="InvalidDataException">Too few documents are long enough, or a part did not give its pairs in <see cref="MaxPasses"/> passes.</exception>
    public static GeneratedPairs FromCorpus(
        IReadOnlyList<string> documents, int promptTokens, TextTokenizer tokenizer, GoldReward reward, PairGenerationOptions options, IProgress<PairProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TrainPairs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.TestPairs);
        options.Sampling.Validate();
        var n = options.Sampling.MaxNewTokens;
        var usable = new List<(int[] Prompt, int[] Continuation)>();
        foreach (var document in documents)
        {
            var ids = tokenizer.Encode(document);
            if (ids.Length > promptTokens)
                usable.Add((ids[..promptTokens], ids[promptTokens..Math.Min(ids.Length, promptTokens + n)]));
        }

        var order = Enumerable.Range(0, usable.Count).ToArray();
        SeededShuffle.Shuffle(order, new Random(StreamSeed.Of(options.Seed, StreamSeed.CorpusPairs, 0)));
        var trainCount = options.TestPairs == 0
            ? usable.Count
            : (int)Math.Round(usable.Count * (double)options.TrainPairs / (options.TrainPairs + options.TestPairs), MidpointRounding.AwayFromZero);
        if (trainCount < 2 || (options.TestPairs > 0 && usable.Count - trainCount < 2))
            throw new InvalidDataException($"{usable.Count} of {documents.Count} documents are longer than {promptTokens} tokens: too few to cut into training and test parts of two or more.");

        var tally = new Tally();
        List<PreferencePair> Part(IEnumerable<int> indices, int wanted, string part)
        {
            var docs = indices.Select(i => usable[i]).ToList();
            var pairs = new List<PreferencePair>(wanted);
            for (var pass = 1; pass <= MaxPasses && pass < docs.Count && pairs.Count < wanted; pass++)
            {
                for (var i = 0; i < docs.Count && pairs.Count < wanted; i++)
                {
                    tally.Used++;
                    var partner = docs[(i + pass) % docs.Count];
                    Label(tokenizer.Decode(docs[i].Prompt), tokenizer.Decode(docs[i].Continuation), tokenizer.Decode(partner.Continuation), reward, tally, pairs);
                }

                progress?.Report(new PairProgress(part, pairs.Count, wanted, tally.Ties));
            }

            return pairs.Count == wanted
                ? pairs
                : throw new InvalidDataException(
                    $"{docs.Count} {part} documents paired {MaxPasses} times gave {pairs.Count} pairs ({tally.Ties} ties skipped in all), fewer than the {wanted} asked for: give more documents or ask fewer pairs.");
        }

        var clean = Part(order.Take(trainCount), options.TrainPairs, "training");
        var test = Part(order.Skip(trainCount), options.TestPairs, "test");
        var (noisy, flipped) = LabelNoise.Flip(clean, options.NoiseFraction, options.Seed);
        return new GeneratedPairs(noisy, clean, test, flipped.Count(f => f), tally.Ties, tally.Empty, tally.Used, 0);
    }

    /// <summary>Adds the pair of <paramref name="a"/> and <paramref name="b"/>, the one <paramref name="reward"/> scores higher chosen; an empty completion or a tie is counted and skipped.</summary>
    private static void Label(string prompt, string a, string b, GoldReward reward, Tally tally, List<PreferencePair> pairs)
    {
        if (string.IsNullOrWhiteSpace(a) || string.IsNullOrWhiteSpace(b))
        {
            tally.Empty++; // end-of-text (or only spaces) at once: not a completion a pair can hold
            return;
        }

        var (ra, rb) = (reward.Score(a), reward.Score(b));
        if (ra == rb)
        {
            tally.Ties++;
            return;
        }

        pairs.Add(ra > rb ? new PreferencePair(prompt, a, b) : new PreferencePair(prompt, b, a));
    }

    private sealed class Tally
    {
        public int Ties { get; set; }

        public int Empty { get; set; }

        public int Used { get; set; }

        public int Truncated { get; set; }
    }
}
