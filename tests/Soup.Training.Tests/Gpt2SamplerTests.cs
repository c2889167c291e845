using Soup.Training.Models;
using Soup.Training.Text;
using static TorchSharp.torch;

namespace Soup.Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class Gpt2SamplerTests
{
    private const int EndOfText = 50256;
    private static readonly SamplingOptions Greedy = new(MaxNewTokens: 6, Temperature: 0, StopAtEndOfText: false);

    [Fact]
    public void Sample_Greedy_EqualsArgmaxOfTheFullForwardEachStep()
    {
        using var model = Gpt2Models.LanguageModel();
        int[] prompt = [464, 2068, 7586];

        var completion = Gpt2Sampler.Sample(model, [prompt], EndOfText, Greedy, null).Completions[0];

        // Without a cache: the whole sequence again at every step.
        var sequence = prompt.Select(t => (long)t).ToList();
        for (var step = 0; step < Greedy.MaxNewTokens; step++)
        {
            using var logits = model.forward(tensor(sequence.ToArray(), [1, sequence.Count]));
            sequence.Add(logits[0, -1].argmax().item<long>());
        }
        Assert.Equal(sequence.Skip(prompt.Length).Select(t => (int)t), completion);
    }

    [Fact]
    public void Sample_LeftPaddedBatch_GivesEachPromptWhatItGivesAlone()
    {
        using var model = Gpt2Models.LanguageModel();
        int[][] prompts = [[11, 22, 33, 44, 55, 66, 77], [5], [], [900, 901, 902]];

        var batch = Gpt2Sampler.Sample(model, prompts, EndOfText, Greedy, null).Completions;

        for (var i = 0; i < prompts.Length; i++)
            Assert.Equal(Gpt2Sampler.Sample(model, [prompts[i]], EndOfText, Greedy, null).Completions[0], batch[i]);
    }

    [Fact]
    public void Sample_SameSeed_SameCompletions_OtherSeed_Others()
    {
        using var model = Gpt2Models.LanguageModel();
        var options = new SamplingOptions(MaxNewTokens: 8, Temperature: 1.0, TopK: 50, TopP: 0.95, StopAtEndOfText: false);
        int[][] prompts = [[1, 2, 3], [4, 5, 6]];
        IReadOnlyList<int[]> Draw(ulong seed)
        {
            using var generator = new Generator(seed);
            return Gpt2Sampler.Sample(model, prompts, EndOfText, options, generator).Completions;
        }

        var first = Draw(7);
        var again = Draw(7);
        var other = Draw(8);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.All(first, c => Assert.Equal(8, c.Length));
    }

    [Fact]
    public void Sample_TopKOfOne_IsGreedy()
    {
        using var model = Gpt2Models.LanguageModel();
        using var generator = new Generator(3);
        int[][] prompts = [[10, 20], [30]];

        var topOne = Gpt2Sampler.Sample(model, prompts, EndOfText, Greedy with { Temperature = 1.5, TopK = 1 }, generator).Completions;

        Assert.Equal(Gpt2Sampler.Sample(model, prompts, EndOfText, Greedy, null).Completions, topOne);
    }

    [Fact]
    public void Pick_TopKAndTopP_DrawOnlyFromTheAllowedTokens()
    {
        // Probabilities 0.5, 0.3, 0.15, 0.05 (logits are their logs).
        using var logits = tensor(new[] { 0.5f, 0.3f, 0.15f, 0.05f }).log().unsqueeze(0).expand(4000, -1);
        using var generator = new Generator(1);

        int[] Counts(SamplingOptions options)
        {
            using var drawn = Gpt2Sampler.Pick(logits, options, generator);
            return [.. Enumerable.Range(0, 4).Select(i => drawn.eq(i).sum().item<long>()).Select(n => (int)n)];
        }

        var topTwo = Counts(new SamplingOptions(TopK: 2));
        var nucleus = Counts(new SamplingOptions(TopP: 0.8)); // 0.5 + 0.3 reaches 0.8: the third is out
        var everything = Counts(new SamplingOptions());

        Assert.Equal(0, topTwo[2] + topTwo[3]);
        Assert.InRange(topTwo[0] / 4000.0, 0.58, 0.67); // 0.5 / 0.8
        Assert.Equal(0, nucleus[2] + nucleus[3]);
        Assert.True(everything[3] > 100, $"the least likely token was drawn {everything[3]} times of 4,000");
    }

    [Fact]
    public void Sample_EndOfTextMostLikely_StopsThereAndLeavesItOut()
    {
        using var model = Gpt2Models.LanguageModel();
        Gpt2Models.ForceEndOfText(model);

        var result = Gpt2Sampler.Sample(model, [[1, 2], [3]], EndOfText, new SamplingOptions(MaxNewTokens: 5, Temperature: 0), null);

        Assert.All(result.Completions, Assert.Empty);
    }

    [Fact]
    public void Sample_PromptLongerThanTheRoomLeft_IsCutFromTheLeftAndCounted()
    {
        using var model = Gpt2Models.LanguageModel();
        var context = Gpt2Models.Small.Context;
        var options = Greedy with { MaxNewTokens = 4 };
        var long1 = Enumerable.Range(100, context + 5).ToArray();
        var kept = long1[^(context - 4)..];

        var result = Gpt2Sampler.Sample(model, [long1, [7, 8]], EndOfText, options, null);

        Assert.Equal(1, result.TruncatedPrompts);
        Assert.Equal(Gpt2Sampler.Sample(model, [kept], EndOfText, options, null).Completions[0], result.Completions[0]);
    }

    [Fact]
    public void Sample_NoRoomForAPrompt_SaysSo()
    {
        using var model = Gpt2Models.LanguageModel();

        var error = Assert.Throws<ArgumentException>(() =>
            Gpt2Sampler.Sample(model, [[1]], EndOfText, new SamplingOptions(MaxNewTokens: Gpt2Models.Small.Context), null));

        Assert.StartsWith("maxNewTokens 24 leaves no room for a prompt in gpt2-test's context of 24 tokens.", error.Message, StringComparison.Ordinal);
    }
}
