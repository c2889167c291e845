using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary>Text tasks in a spec: the model fits the layout, the preferences layout makes reward-model pipelines, WARM's requirements.</summary>
public sealed class SpecTextTasksTests
{
    private const string Prefs = """ "data": { "dataset": "prefs", "layout": "preferences", "evalSplit": "validation" } """;

    private static SpecParseResult Parse(string body) => SpecParser.Parse($$"""{ "name": "t", {{body}} }""");

    private static string Message(SpecParseResult parsed, string path) =>
        Assert.Single(parsed.Problems, p => p.Path == path).Message;

    [Fact]
    public void Parse_RewardModelsOnPreferences_IsValid()
    {
        var parsed = Parse($$""" "recipe": "warm", "model": "gpt2-tiny", {{Prefs}}, "members": { "count": 3, "learningRates": [0.0001, 0.0003, 0.001] } """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
    }

    [Theory]
    [InlineData("cnn-small", "preferences", "model 'cnn-small' does not fit the preferences layout of $.data; models for it: gpt2-tiny, distilgpt2, gpt2")]
    [InlineData("gpt2", "idx", "model 'gpt2' does not fit the idx layout of $.data; models for it: cnn-small, domainbed-mnist, resnet18, resnet50")]
    public void Parse_ModelOfTheOtherKind_NamesTheModelsThatFit(string model, string layout, string message)
    {
        var parsed = Parse($$""" "model": "{{model}}", "data": { "dataset": "d", "layout": "{{layout}}", "evalSplit": "validation" } """);

        Assert.Equal(message, Message(parsed, "$.model"));
    }

    [Fact]
    public void Parse_TextLayout_SaysLanguageModelsCannotBeScoredYet()
    {
        var parsed = Parse(""" "model": "gpt2-tiny", "data": { "dataset": "corpus", "layout": "text", "evalSplit": "validation" } """);

        Assert.Contains("the generation evaluation that scores language models is not built yet", Message(parsed, "$.data.layout"), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SplitOfTheTrainingPart_WithCleanLabels_IsValid_AnUnknownPartListsTheKnown()
    {
        var valid = Parse($$""" "model": "gpt2-tiny", {{Prefs}}, "evaluation": { "splits": [ { "name": "train-clean", "dataset": "prefs-clean", "part": "in" } ] } """);
        var unknown = Parse($$""" "model": "gpt2-tiny", {{Prefs}}, "evaluation": { "splits": [ { "name": "train-clean", "dataset": "prefs-clean", "part": "train" } ] } """);

        Assert.True(valid.IsValid, string.Join("; ", valid.Problems));
        Assert.Equal("unknown part 'train' for layout preferences; known: in, out, all", Message(unknown, "$.evaluation.splits[0].part"));
    }

    [Fact]
    public void Parse_ImageSplitInARewardModelPipeline_IsRefusedAtTheSplit()
    {
        var parsed = Parse($$""" "model": "gpt2-tiny", {{Prefs}}, "evaluation": { "splits": [ { "name": "imgs", "dataset": "fashion-mnist", "layout": "idx", "part": "test" } ] } """);

        Assert.Equal("a split of layout idx cannot score the models a pipeline of layout preferences trains", Message(parsed, "$.evaluation.splits[0].layout"));
    }

    [Fact]
    public void Parse_WarmWithoutDiversityOrWithAGreedySoup_SaysWhatWarmNeeds()
    {
        var parsed = Parse($$""" "recipe": "warm", "model": "gpt2-tiny", {{Prefs}}, "members": { "count": 2, "learningRates": [0.001] }, "soup": { "select": "greedy" } """);

        Assert.Contains("at least 2 reward models of diverse hyperparameters", Message(parsed, "$.members"), StringComparison.Ordinal);
        Assert.Contains("uniform average of every reward model", Message(parsed, "$.merge.method"), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WarmOnImages_AsksForThePreferencesLayout()
    {
        var parsed = Parse(""" "recipe": "warm", "members": { "count": 2, "learningRates": [0.01, 0.02] } """);

        Assert.Contains("set data.layout 'preferences'", Message(parsed, "$.data.layout"), StringComparison.Ordinal);
    }
}
