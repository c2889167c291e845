using Soup.Training.Text;

namespace Soup.Training.Tests;

public sealed class TextRewardTests
{
    private static readonly TextReward Length = new("length", (_, completions) => [.. completions.Select(c => (double)c.Length)]);

    private static readonly TextReward PromptLength = new("prompt-length", (prompts, _) => [.. prompts.Select(p => (double)p.Length)]);

    [Fact]
    public void Sum_WeightedSum_IsNamedAndScoresTheSumOfItsTerms()
    {
        const string text = "A good, short and happy answer with nothing bad in it at all.";
        var reward = TextReward.Sum([(TextReward.Of(GoldRewards.Positivity), 0.7), (TextReward.Of(GoldRewards.Conciseness), 0.3)]);

        Assert.Equal("0.7·positivity+0.3·conciseness", reward.Name);
        Assert.Equal((0.7 * GoldRewards.Positivity.Score(text)) + (0.3 * GoldRewards.Conciseness.Score(text)), Assert.Single(reward.Score(["ignored"], [text])), 12);
    }

    [Fact]
    public void Sum_NegativeWeight_IsWrittenWithMinus_AndTermsSeeThePromptsAndCompletions()
    {
        var reward = TextReward.Sum([(Length, 1), (PromptLength, -0.5)]);

        Assert.Equal("1·length-0.5·prompt-length", reward.Name);
        Assert.Equal([3 - 1.0, 1 - 3.0], reward.Score(["ab", "abcdef"], ["abc", "x"]));
    }

    [Fact]
    public void Sum_OneTermOfWeightOne_IsThatReward()
    {
        Assert.Same(Length, TextReward.Sum([(Length, 1)]));
        Assert.Equal("2·length", TextReward.Sum([(Length, 2)]).Name);
    }

    [Fact]
    public void Sum_BadTerms_Throw()
    {
        Assert.Throws<ArgumentException>(() => TextReward.Sum([]));
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => TextReward.Sum([(Length, 1), (Length, 2)])).Message, StringComparison.Ordinal);
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => TextReward.Sum([(Length, double.NaN)])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Named_GoldReward_ScoresTheCompletionOnly_UnknownNameListsWhatIsKnown()
    {
        var concise = TextReward.Named("conciseness");

        Assert.Equal("conciseness", concise.Name);
        Assert.Equal([GoldRewards.Conciseness.Score("one two three")], concise.Score(["a very long prompt " + new string('x', 500)], ["one two three"]));
        var error = Assert.Throws<ArgumentException>(() => TextReward.Named("warm"));
        Assert.Contains("'warm'", error.Message, StringComparison.Ordinal);
        Assert.Contains("positivity", error.Message, StringComparison.Ordinal);
        Assert.Contains("(none)", error.Message, StringComparison.Ordinal);
    }
}
