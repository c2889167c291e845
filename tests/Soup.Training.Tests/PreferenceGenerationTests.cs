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

        var pairs = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, Options());

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

        var first = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, Options(seed: 5));
        var again = PreferenceGeneration.Generate(policy, Prompts(40), Tokenizer, Length, Options(seed: 5));

        Assert.Equal(first.Train, again.Train);
        Assert.Equal(first.Test, again.Test);
    }

    [Fact]
    public void Generate_OnlyTies_SaysHowManyPairsThePromptsGave()
    {
        using var policy = Gpt2Models.LanguageModel();
        var constant = new GoldReward("constant", "always 1", 1, 1, _ => 1);

        var error = Assert.Throws<InvalidDataException>(() => PreferenceGeneration.Generate(policy, Prompts(8), Tokenizer, constant, Options()));

        Assert.StartsWith($"6 training prompts sampled {PreferenceGeneration.MaxPasses} times gave 0 pairs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_EmptyCompletions_AreSkippedNotPaired()
    {
        using var policy = Gpt2Models.LanguageModel();
        Gpt2Models.ForceEndOfText(policy);

        var error = Assert.Throws<InvalidDataException>(() => PreferenceGeneration.Generate(policy, Prompts(8), Tokenizer, Length, Options()));

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
