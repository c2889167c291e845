using Soup.Training.Text;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class PreferenceGenerationTests
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);

    /// <summary>A gold reward that rarely ties: the completion's length in characters.</summary>
    private static readonly GoldReward Length = new("length", "characters", 0, double.MaxValue, text => text.Length);

    private static List<int[]> Prompts(int count) =>
        [.. Enumerable.Range(0, count).Select(i => Tokenizer.Encode($"Prompt number {i} says"))];

    private static PairGenerationOptions Options(int seed = 3) => new(TrainPairs: 12, TestPairs: 4, new SamplingOptions(MaxNewTokens: 6), NoiseFraction: 0.25, seed);

    [Fact]
    public void Generate_LabelsByTheGoldReward_FlipsTheAskedShare_KeepsTestPromptsApart()
    {
        using var policy = Gpt2Models.LanguageModel();

        var pairs = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, Options(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(12, pairs.TrainClean.Count);
        Assert.Equal(4, pairs.Test.Count);
        Assert.All(pairs.TrainClean.Concat(pairs.Test), p => Assert.True(p.Chosen.Length > p.Rejected.Length, $"'{p.Chosen}' vs '{p.Rejected}'"));
        Assert.Equal(3, pairs.Flipped);
        Assert.Equal(3, pairs.Train.Zip(pairs.TrainClean).Count(p => p.First.Chosen != p.Second.Chosen));
        Assert.Empty(pairs.TrainClean.Select(p => p.Prompt).Intersect(pairs.Test.Select(p => p.Prompt)));
    }

    [Fact]
    public void Generate_SameSeed_SamePairs()
    {
        using var policy = Gpt2Models.LanguageModel();

        var first = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, Options(seed: 5), cancellationToken: TestContext.Current.CancellationToken);
        var again = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, Options(seed: 5), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(first.Train, again.Train);
        Assert.Equal(first.Test, again.Test);
    }

    [Fact]
    public void Generate_StoppedAndResumedFromItsSavedState_MakesExactlyThePairsOfAnUninterruptedRun()
    {
        using var policy = Gpt2Models.LanguageModel();
        var options = Options(seed: 7) with { BatchSize = 4, ShiftedPairs = 5 };
        var shifted = Prompts(12).Select(p => Tokenizer.Encode("Elsewhere, " + Tokenizer.Decode(p))).ToList();
        var wholeBatches = new SavingObserver(every: int.MaxValue, new CancellationTokenSource(), stopAfter: -1);
        var whole = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, options, shiftedPrompts: shifted, observer: wholeBatches, cancellationToken: TestContext.Current.CancellationToken);

        // Stopped twice, once in the training part and once in the shifted part, each time resumed from the last save
        // (the observer saves every third batch; the stop saves where it stands).
        PairSamplingState? state = null;
        foreach (var stopAfter in new[] { 2, 3 })
        {
            using var stop = new CancellationTokenSource();
            var observer = new SavingObserver(every: 3, stop, stopAfter);
            Assert.ThrowsAny<OperationCanceledException>(() => PreferenceGeneration.Generate(
                policy, Prompts(40), Tokenizer, Length, options, shiftedPrompts: shifted, resume: state, observer: observer, cancellationToken: stop.Token));
            Assert.True(observer.Saved.Count > 0);
            state = observer.Saved[^1];
        }

        Assert.Equal(2, state!.Part); // the second stop came in the shifted part
        var resumedBatches = new SavingObserver(every: int.MaxValue, new CancellationTokenSource(), stopAfter: -1);
        var resumed = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, options, shiftedPrompts: shifted, resume: state, observer: resumedBatches, cancellationToken: TestContext.Current.CancellationToken);

        // It sampled only what the two stopped runs had not (2 and 3 batches), and made the same pairs.
        Assert.Equal(wholeBatches.Batches - 5, resumedBatches.Batches);
        Assert.Equal(whole.Train, resumed.Train);
        Assert.Equal(whole.TrainClean, resumed.TrainClean);
        Assert.Equal(whole.Test, resumed.Test);
        Assert.Equal(whole.Shifted!, resumed.Shifted!);
        Assert.Equal(5, resumed.Shifted!.Count);
        Assert.Equal((whole.Ties, whole.Empty, whole.PromptsUsed, whole.Flipped), (resumed.Ties, resumed.Empty, resumed.PromptsUsed, resumed.Flipped));
    }

    [Fact]
    public void Generate_StoppedRightAfterASaveThatFailed_SavesAgainWhereItStands()
    {
        using var policy = Gpt2Models.LanguageModel();
        using var stop = new CancellationTokenSource();
        var observer = new SavingObserver(every: 1, stop, stopAfter: 2) { Fails = true };

        Assert.ThrowsAny<OperationCanceledException>(() => PreferenceGeneration.Generate(
            policy, Prompts(40), Tokenizer, Length, Options() with { BatchSize = 4 }, observer: observer, cancellationToken: stop.Token));

        // After each of the two batches a save was tried and failed; the stop tried once more, at the third batch.
        Assert.Equal([4, 8, 8], observer.Saved.Select(s => s.Start));
    }

    /// <summary>Saves every <paramref name="every"/>-th batch, and cancels <paramref name="stop"/> after <paramref name="stopAfter"/> batches.</summary>
    private sealed class SavingObserver(int every, CancellationTokenSource stop, int stopAfter) : IPairSamplingObserver
    {
        public int Batches { get; private set; }

        public List<PairSamplingState> Saved { get; } = [];

        public bool WantsSave()
        {
            Batches++;
            if (Batches == stopAfter)
                stop.Cancel();
            return Batches % every == 0;
        }

        /// <summary>Every save fails (as a storage outage makes it), though it is recorded.</summary>
        public bool Fails { get; init; }

        public bool Save(PairSamplingState state)
        {
            Saved.Add(state);
            return !Fails;
        }
    }

    [Fact]
    public void Generate_OnlyTies_SaysHowManyPairsThePromptsGave()
    {
        using var policy = Gpt2Models.LanguageModel();
        var constant = new GoldReward("constant", "always 1", 1, 1, _ => 1);

        var error = Assert.Throws<InvalidDataException>(() => PreferenceGeneration.Generate(policy, Prompts(8), Tokenizer, constant, Options(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.StartsWith($"6 training prompts sampled {PreferenceGeneration.MaxPasses} times gave 0 pairs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_EmptyCompletions_AreSkippedNotPaired()
    {
        using var policy = Gpt2Models.LanguageModel();
        Gpt2Models.ForceEndOfText(policy);

        var error = Assert.Throws<InvalidDataException>(() => PreferenceGeneration.Generate(policy, Prompts(8), Tokenizer, Length, Options(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.StartsWith($"6 training prompts sampled {PreferenceGeneration.MaxPasses} times gave 0 pairs", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Documents whose continuations are their own and differ in length: "Document i opens here and" then 1 to 7 words "wi".</summary>
    private static List<string> Documents(int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"Document {i} opens here and" + string.Concat(Enumerable.Repeat($" w{i}", (i % 7) + 1)))];

    [Fact]
    public void FromCorpus_RealContinuations_LabelledByTheGoldReward_PartsShareNoDocument()
    {
        var documents = Documents(40);

        var pairs = PreferenceGeneration.FromCorpus(documents, 4, Tokenizer, Length, Options());

        Assert.Equal((12, 4, 3), (pairs.TrainClean.Count, pairs.Test.Count, pairs.Flipped));
        Assert.All(pairs.TrainClean.Concat(pairs.Test), p => Assert.True(p.Chosen.Length > p.Rejected.Length, $"'{p.Chosen}' vs '{p.Rejected}'"));
        Assert.Equal(3, pairs.Train.Zip(pairs.TrainClean).Count(p => p.First.Chosen != p.Second.Chosen));
        // The prompt is a document's first 4 tokens, and one of the two completions is that document's own continuation.
        Assert.All(pairs.TrainClean, p => Assert.Contains(documents, d =>
            d.StartsWith(p.Prompt + p.Chosen, StringComparison.Ordinal) || d.StartsWith(p.Prompt + p.Rejected, StringComparison.Ordinal)));
        // Training and test pairs come from disjoint documents: no prompt and no completion in both.
        Assert.Empty(pairs.TrainClean.Select(p => p.Prompt).Intersect(pairs.Test.Select(p => p.Prompt)));
        Assert.Empty(pairs.TrainClean.SelectMany(p => new[] { p.Chosen, p.Rejected }).Intersect(pairs.Test.SelectMany(p => new[] { p.Chosen, p.Rejected })));
    }

    [Fact]
    public void FromCorpus_SameSeedSamePairs_OtherSeedOthers()
    {
        var documents = Documents(40);

        var first = PreferenceGeneration.FromCorpus(documents, 4, Tokenizer, Length, Options(seed: 5));
        var again = PreferenceGeneration.FromCorpus(documents, 4, Tokenizer, Length, Options(seed: 5));
        var other = PreferenceGeneration.FromCorpus(documents, 4, Tokenizer, Length, Options(seed: 6));

        Assert.Equal(first.Train, again.Train);
        Assert.Equal(first.Test, again.Test);
        Assert.NotEqual(first.Train, other.Train);
    }

    [Fact]
    public void FromCorpus_TooFewLongDocuments_OrOnlyTies_SayWhy()
    {
        var shortOnes = Enumerable.Range(0, 40).Select(i => $"Short {i}").ToList();
        var tooFew = Assert.Throws<InvalidDataException>(() => PreferenceGeneration.FromCorpus(shortOnes, 4, Tokenizer, Length, Options()));
        Assert.StartsWith("0 of 40 documents are longer than 4 tokens", tooFew.Message, StringComparison.Ordinal);

        var constant = new GoldReward("constant", "always 1", 1, 1, _ => 1);
        var ties = Assert.Throws<InvalidDataException>(() => PreferenceGeneration.FromCorpus(Documents(40), 4, Tokenizer, constant, Options()));
        Assert.StartsWith($"30 training documents paired {PreferenceGeneration.MaxPasses} times gave 0 pairs", ties.Message, StringComparison.Ordinal);
    }
}
