using Soup.Training.Text;

namespace Soup.Training.Tests;

public sealed class GoldRewardsTests
{
    private static readonly string[] EdgeTexts =
    [
        "",
        "   \n\t ",
        "!!! ... ??? 42 -- ''",
        "good great wonderful",
        "bad awful terrible",
        "Good, GOOD, good!",
        "It's not bad; it's NOT bad at all — isn’t it?",
        "Ünïcödé café naïve résumé",
        string.Join(' ', Enumerable.Repeat("word", 100)),
        string.Join(' ', Enumerable.Range(0, 40).Select(i => new string((char)('a' + (i % 26)), 1 + (i / 26)))),
    ];

    public static TheoryData<string> Edges => [.. EdgeTexts];

    [Fact]
    public void Words_AreRunsOfLettersAndApostrophes_TrimmedAndLowercased()
    {
        var words = GoldRewards.Words("Don't STOP—it's 'great', isn’t it? 42 x2 '' o'");

        Assert.Equal(["don't", "stop", "it's", "great", "isn't", "it", "x", "o"], words);
    }

    [Fact]
    public void Words_NonAsciiLetters_AreLetters() =>
        Assert.Equal(["élan", "straße", "привет", "x𝐀y"], GoldRewards.Words("Élan, Straße; ПРИВЕТ! x𝐀y"));

    [Fact]
    public void Positivity_MixedText_IsPositiveMinusNegativeOverWords()
    {
        const string text = "What a good day, a great and happy day, but I lost my keys.";
        var words = GoldRewards.Words(text);

        Assert.Equal(14, words.Count);
        Assert.Equal((3 - 1) / 14.0, GoldRewards.Positivity.Score(text), 12);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("!!! ... ???", 0)]
    [InlineData("Good, great, wonderful!", 1)]
    [InlineData("Bad. Awful. Terrible.", -1)]
    [InlineData("good bad", 0)]
    [InlineData("good table chair lamp", 0.25)]
    public void Positivity_EdgeTexts_HaveTheirValues(string text, double expected) =>
        Assert.Equal(expected, GoldRewards.Positivity.Score(text), 12);

    [Theory]
    [InlineData(20, 1)]
    [InlineData(10, 0.5)]
    [InlineData(25, 0.75)]
    [InlineData(0, 0)]
    [InlineData(40, 0)]
    [InlineData(100, 0)]
    public void Conciseness_WordCount_IsClosenessToTwenty(int words, double expected)
    {
        var text = string.Join(" ", Enumerable.Repeat("word", words)) + " ... 123";

        Assert.Equal(expected, GoldRewards.Conciseness.Score(text), 12);
    }

    [Fact]
    public void ConcisenessFor_OtherTarget_IsNamedAndScoredForIt()
    {
        var reward = GoldRewards.ConcisenessFor(4);

        Assert.Equal("conciseness-4", reward.Name);
        Assert.Equal(1 - (1 / 4.0), reward.Score("a b c d e"), 12);
        Assert.Equal(1, reward.Score("a b c d"), 12);
        Assert.Equal("conciseness", GoldRewards.ConcisenessFor(GoldRewards.DefaultTargetWords).Name);
        Assert.Throws<ArgumentOutOfRangeException>(() => GoldRewards.ConcisenessFor(0));
    }

    [Theory]
    [InlineData("the cat and the hat", 4 / 5.0)]
    [InlineData("The THE the", 1 / 3.0)]
    [InlineData("one", 1)]
    [InlineData("", 0)]
    [InlineData("... !!!", 0)]
    public void LexicalDiversity_Text_IsDistinctOverWords(string text, double expected) =>
        Assert.Equal(expected, GoldRewards.LexicalDiversity.Score(text), 12);

    [Theory]
    [MemberData(nameof(Edges))]
    public void EveryReward_EdgeText_IsInItsRangeAndDeterministic(string text)
    {
        foreach (var reward in GoldRewards.All)
        {
            var score = reward.Score(text);

            Assert.InRange(score, reward.Minimum, reward.Maximum);
            Assert.Equal(score, reward.Score(text));
        }
    }

    [Fact]
    public void All_HaveDistinctNamesOneLineDescriptionsAndRanges()
    {
        Assert.Equal(["positivity", "conciseness", "lexical-diversity"], GoldRewards.All.Select(reward => reward.Name));
        foreach (var reward in GoldRewards.All)
        {
            Assert.Same(reward, GoldRewards.Get(reward.Name));
            Assert.False(string.IsNullOrWhiteSpace(reward.Description));
            Assert.DoesNotContain('\n', reward.Description);
            Assert.True(reward.Minimum < reward.Maximum, reward.Name);
        }
    }

    [Fact]
    public void Get_UnknownName_ListsTheKnownRewards()
    {
        var error = Assert.Throws<ArgumentException>(() => GoldRewards.Get("helpfulness"));

        Assert.StartsWith(
            $"Unknown gold reward 'helpfulness'. Known gold rewards: {string.Join(", ", GoldRewards.All.Select(reward => reward.Name))}, conciseness-N (N target words).",
            error.Message,
            StringComparison.Ordinal);
        Assert.Contains("lexical-diversity", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("conciseness-5", 5)]
    [InlineData("conciseness-1000", 1000)]
    [InlineData("conciseness-0", null)]
    [InlineData("conciseness-05", null)]
    [InlineData("conciseness-1001", null)]
    [InlineData("conciseness-20", null)] // that is 'conciseness'
    [InlineData("conciseness-", null)]
    [InlineData("conciseness-x", null)]
    public void Get_ConcisenessN_IsClosenessToNWords_OtherSpellingsAreUnknown(string name, int? target)
    {
        Assert.Equal(target, Soup.Core.Jobs.GoldRewardNames.ConcisenessTarget(name));
        if (target is { } n)
        {
            var reward = GoldRewards.Get(name);
            Assert.Equal(name, reward.Name);
            Assert.Equal(1.0, reward.Score(string.Join(' ', Enumerable.Repeat("word", n))), 12);
            Assert.Equal(reward.Score("a b"), Assert.Single(TextReward.Named(name).Score(["p"], ["a b"])));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => GoldRewards.Get(name));
        }
    }

    [Fact]
    public void WordLists_AreAboutAHundredLowercaseWordsEach_AndDisjoint()
    {
        foreach (var list in new[] { GoldRewards.PositiveWords, GoldRewards.NegativeWords })
        {
            Assert.InRange(list.Count, 90, 120);
            foreach (var word in list)
                Assert.Equal([word], GoldRewards.Words(word));
        }

        Assert.Empty(GoldRewards.PositiveWords.Intersect(GoldRewards.NegativeWords));
    }
}
