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
/// <param name="ShiftedPairs">Pairs with clean labels from the shifted prompts given to <see cref="PreferenceGeneration.Generate"/> (0: none).</param>
public sealed record PairGenerationOptions(int TrainPairs, int TestPairs, SamplingOptions Sampling, double NoiseFraction, int Seed, int BatchSize = 16, int ShiftedPairs = 0);

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
/// <param name="Shifted">Pairs of the shifted prompts with the gold labels (<see cref="PairGenerationOptions.ShiftedPairs"/>; null: none asked for).</param>
public sealed record GeneratedPairs(
    IReadOnlyList<PreferencePair> Train, IReadOnlyList<PreferencePair> TrainClean, IReadOnlyList<PreferencePair> Test, int Flipped, int Ties, int Empty, int PromptsUsed, int TruncatedPrompts,
    IReadOnlyList<PreferencePair>? Shifted = null);

/// <summary>
/// Where a run of <see cref="PreferenceGeneration.Generate"/> stands between two batches: the next batch (part, pass,
/// first prompt of the part) and the clean pairs each part has made so far, with the counts. Resuming from it gives
/// exactly the pairs an uninterrupted run gives, because each batch's sampling is seeded by (seed, part, pass, first
/// prompt) alone.
/// </summary>
/// <param name="Part">0 training, 1 test, 2 shifted.</param>
/// <param name="Pass">The pass over the part's prompts.</param>
/// <param name="Start">The first prompt of the next batch.</param>
/// <param name="Made">Each part's clean pairs so far (three lists).</param>
/// <param name="Ties">Prompts skipped as ties so far.</param>
/// <param name="Empty">Prompts skipped for an empty completion so far.</param>
/// <param name="Used">Prompts sampled so far.</param>
/// <param name="Truncated">Prompts cut to fit the context so far.</param>
public sealed record PairSamplingState(int Part, int Pass, int Start, IReadOnlyList<IReadOnlyList<PreferencePair>> Made, int Ties, int Empty, int Used, int Truncated);

/// <summary>Hears from <see cref="PreferenceGeneration.Generate"/> between batches, on its thread: where to resume from.</summary>
public interface IPairSamplingObserver
{
    /// <summary>Whether to save the state after the batch just sampled.</summary>
    bool WantsSave();

    /// <summary>
    /// A state to resume from: after a batch when <see cref="WantsSave"/> said so, and on cancellation when the run
    /// advanced since it started or last saved. Returns whether it was saved (a failed save is made again on cancellation).
    /// </summary>
    bool Save(PairSamplingState state);
}

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

    /// <summary>
    /// Samples pairs from <paramref name="policy"/> for <paramref name="prompts"/> (and, with
    /// <see cref="PairGenerationOptions.ShiftedPairs"/>, for <paramref name="shiftedPrompts"/>), batch by batch; each
    /// batch's sampling is seeded by (seed, part, pass, first prompt), so a run resumed from a saved
    /// <see cref="PairSamplingState"/> makes exactly the pairs an uninterrupted one makes. On cancellation the state is
    /// saved (when the run advanced) before <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    /// <exception cref="InvalidDataException">A part's prompts did not give its pairs in <see cref="MaxPasses"/> passes; the message gives the counts.</exception>
    public static GeneratedPairs Generate(
        Gpt2LanguageModel policy, IReadOnlyList<int[]> prompts, TextTokenizer tokenizer, GoldReward reward, PairGenerationOptions options, IProgress<PairProgress>? progress = null,
        IReadOnlyList<int[]>? shiftedPrompts = null, PairSamplingState? resume = null, IPairSamplingObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TrainPairs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.TestPairs);
        ArgumentOutOfRangeException.ThrowIfNegative(options.ShiftedPairs);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        if (options.ShiftedPairs > 0 && shiftedPrompts is not { Count: > 0 })
            throw new ArgumentException($"{options.ShiftedPairs} shifted pairs are asked for and there are no shifted prompts.", nameof(shiftedPrompts));
        var trainPrompts = options.TestPairs == 0
            ? prompts.Count
            : (int)Math.Round(prompts.Count * (double)options.TrainPairs / (options.TrainPairs + options.TestPairs), MidpointRounding.AwayFromZero);
        if (trainPrompts < 1 || (options.TestPairs > 0 && trainPrompts >= prompts.Count))
            throw new InvalidDataException($"{prompts.Count} prompts cannot be cut into training and test prompts: give more prompts.");

        (List<int[]> Prompts, int Wanted, string Name)[] parts =
        [
            ([.. prompts.Take(trainPrompts)], options.TrainPairs, "training"),
            ([.. prompts.Skip(trainPrompts)], options.TestPairs, "test"),
            ([.. shiftedPrompts ?? []], options.ShiftedPairs, "shifted"),
        ];
        if (resume is not null && (resume.Made.Count != parts.Length || resume.Part is < 0 or > 2 || resume.Pass < 0 || resume.Start < 0))
            throw new ArgumentException("The sampling state does not fit this run.", nameof(resume));
        var made = parts.Select((_, i) => new List<PreferencePair>(resume?.Made[i] ?? [])).ToArray();
        var tally = resume is null ? new Tally() : new Tally { Ties = resume.Ties, Empty = resume.Empty, Used = resume.Used, Truncated = resume.Truncated };
        var at = resume is null ? (Part: 0, Pass: 0, Start: 0) : (resume.Part, resume.Pass, resume.Start);
        var saved = at;
        PairSamplingState State((int Part, int Pass, int Start) next) =>
            new(next.Part, next.Pass, next.Start, [.. made.Select(m => (IReadOnlyList<PreferencePair>)[.. m])], tally.Ties, tally.Empty, tally.Used, tally.Truncated);

        for (var part = at.Part; part < parts.Length; part++)
        {
            var (partPrompts, wanted, name) = parts[part];
            var pairs = made[part];
            for (var pass = part == at.Part ? at.Pass : 0; pass < MaxPasses && pairs.Count < wanted; pass++)
            {
                for (var start = part == at.Part && pass == at.Pass ? at.Start : 0; start < partPrompts.Count && pairs.Count < wanted; start += options.BatchSize)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        if ((part, pass, start) != saved)
                            observer?.Save(State((part, pass, start)));
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    var batch = partPrompts.Skip(start).Take(options.BatchSize).ToList();
                    tally.Used += batch.Count;
                    using var generator = new Generator(unchecked((ulong)StreamSeed.Of(options.Seed, StreamSeed.PairSampling, BatchIndex(part, pass, start))));
                    var sampled = Gpt2Sampler.Sample(policy, [.. batch.SelectMany(p => new[] { p, p })], tokenizer.EndOfText, options.Sampling, generator);
                    tally.Truncated += sampled.TruncatedPrompts / 2;
                    for (var i = 0; i < batch.Count && pairs.Count < wanted; i++)
                    {
                        Label(tokenizer.Decode(batch[i]), tokenizer.Decode(sampled.Completions[2 * i]), tokenizer.Decode(sampled.Completions[(2 * i) + 1]), reward, tally, pairs);
                    }

                    progress?.Report(new PairProgress(name, pairs.Count, wanted, tally.Ties));
                    if (observer?.WantsSave() == true && observer.Save(State((part, pass, start + options.BatchSize))))
                        saved = (part, pass, start + options.BatchSize);
                }
            }

            if (pairs.Count != wanted)
            {
                throw new InvalidDataException(
                    $"{partPrompts.Count} {name} prompts sampled {MaxPasses} times gave {pairs.Count} pairs ({tally.Ties} ties skipped in all), fewer than the {wanted} asked for: give more prompts or fewer pairs.");
            }
        }

        var (noisy, flipped) = LabelNoise.Flip(made[0], options.NoiseFraction, options.Seed);
        return new GeneratedPairs(noisy, made[0], made[1], flipped.Count(f => f), tally.Ties, tally.Empty, tally.Used, tally.Truncated, options.ShiftedPairs > 0 ? made[2] : null);
    }

    /// <summary>The index of a batch's seed: part, pass and first prompt, each in its own bits.</summary>
    private static long BatchIndex(int part, int pass, int start) => ((long)((part * MaxPasses) + pass) << 32) | (uint)start;

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
