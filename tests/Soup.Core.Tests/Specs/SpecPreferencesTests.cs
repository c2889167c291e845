using Soup.Core.Jobs;
using Soup.Core.Specs;

namespace Soup.Core.Tests.Specs;

/// <summary>
/// The <c>preferences</c> section (pairs the pipeline makes): valid in its forms, every contradiction and range refused
/// at its JSON path, the generated datasets named only where they exist, and the splits and jobs it plans.
/// </summary>
public sealed class SpecPreferencesTests
{
    private const string Data = """ "model": "gpt2-tiny", "data": { "dataset": "pairs:train", "layout": "preferences", "evalSplit": "validation" } """;

    private static SpecParseResult Parse(string body) => SpecParser.Parse($$"""{ "name": "t", {{body}} }""");

    private static string Message(SpecParseResult parsed, string path) =>
        Assert.Single(parsed.Problems, p => p.Path == path).Message;

    [Fact]
    public void Parse_SampledAndCorpusPairs_AreValid_WithTheirSplits()
    {
        var sampled = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "reward": "conciseness", "shifted": { "corpus": "blob:datasets/news", "pairs": 100 } } """);
        var corpus = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "completions": "corpus", "reward": "conciseness-10", "noise": 0, "topics": ["wisdom", "people"], "shifted": { "topics": ["riddles"] } } """);

        Assert.True(sampled.IsValid, string.Join("; ", sampled.Problems));
        Assert.True(corpus.IsValid, string.Join("; ", corpus.Problems));
        var splits = SplitPlanner.Splits(corpus.Spec!);
        Assert.Equal(["validation", "test", "shifted"], splits.Select(s => s.Name));
        Assert.Equal([PairDatasets.Train, PairDatasets.Test, PairDatasets.Shifted], splits.Select(s => s.Data.Dataset));
        Assert.Equal(["out", "all", "all"], splits.Select(s => s.Data.Part));
        Assert.Equal("fortunes, topics riddles: pairs of shifted prompts, gold labels", splits[2].Description);
    }

    [Fact]
    public void Parse_SectionOnTheWrongTaskOrData_IsRefusedNamingWhatItNeeds()
    {
        var onText = Parse(""" "model": "gpt2-tiny", "data": { "dataset": "corpus", "layout": "text", "evalSplit": "validation" }, "preferences": { "corpus": "fortunes", "reward": "conciseness" } """);
        var ownData = Parse(""" "model": "gpt2-tiny", "data": { "dataset": "prefs", "layout": "preferences", "evalSplit": "validation" }, "preferences": { "corpus": "fortunes", "reward": "conciseness" } """);

        Assert.Equal("makes preference pairs for reward models: it needs data.layout 'preferences', not 'text'", Message(onText, "$.preferences"));
        Assert.Equal("a pipeline that makes its preference pairs trains on them: set it to 'pairs:train', not 'prefs'", Message(ownData, "$.data.dataset"));
    }

    [Fact]
    public void Parse_GeneratedDatasetWithoutTheSection_IsRefusedWhereItIsNamed()
    {
        var data = Parse(Data);
        var split = Parse(""" "model": "gpt2-tiny", "data": { "dataset": "prefs", "layout": "preferences", "evalSplit": "validation" }, "evaluation": { "splits": [ { "name": "clean", "dataset": "pairs:clean", "part": "in" } ] } """);
        var unknown = Parse($$"""{{Data}}, "preferences": { "corpus": "pairs:test", "reward": "conciseness" }, "evaluation": { "splits": [ { "name": "x", "dataset": "pairs:dirty" } ] } """);

        Assert.Equal("'pairs:train' names preference pairs the pipeline makes itself: add a preferences section, or name a dataset", Message(data, "$.data.dataset"));
        Assert.StartsWith("'pairs:clean' names preference pairs the pipeline makes itself", Message(split, "$.evaluation.splits[0].dataset"), StringComparison.Ordinal);
        Assert.Equal("unknown generated pairs 'pairs:dirty'; known: pairs:train, pairs:clean, pairs:test, pairs:shifted", Message(unknown, "$.evaluation.splits[0].dataset"));
        Assert.StartsWith("'pairs:test' is pairs; the corpus is the text", Message(unknown, "$.preferences.corpus"), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CleanTrainingPairsAsASplit_IsValidWithTheSection()
    {
        var parsed = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "reward": "positivity" }, "evaluation": { "splits": [ { "name": "train-clean", "dataset": "pairs:clean", "part": "in" } ] } """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        Assert.Equal(PairDatasets.Clean, SplitPlanner.Splits(parsed.Spec!).Single(s => s.Name == "train-clean").Data.Dataset);
    }

    [Fact]
    public void Parse_OutOfRangeAndContradictorySettings_AreEachRefusedAtTheirPath()
    {
        var parsed = Parse($$"""{{Data}}, "preferences": { "corpus": "../up", "completions": "human", "policy": "/abs.safetensors", "reward": "kindness", "noise": 0.6, "trainPairs": 0, "testPairs": 0, "promptTokens": 0, "maxNewTokens": 2000, "temperature": 0, "topP": 1.5, "topK": -1, "topics": ["a", "a", "../b"] } """);

        Assert.Equal(
            [
                "$.preferences.completions", "$.preferences.corpus", "$.preferences.maxNewTokens", "$.preferences.maxNewTokens", "$.preferences.noise", "$.preferences.policy", "$.preferences.promptTokens",
                "$.preferences.reward", "$.preferences.temperature", "$.preferences.testPairs", "$.preferences.topK", "$.preferences.topP", "$.preferences.topics[1]",
                "$.preferences.topics[2]", "$.preferences.trainPairs",
            ],
            parsed.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Equal("the share of training labels flipped must be in [0, 0.5], got 0.6", Message(parsed, "$.preferences.noise"));
        Assert.StartsWith("must be in (0, 100] (greedy sampling would give two equal completions", Message(parsed, "$.preferences.temperature"), StringComparison.Ordinal);
        Assert.StartsWith("the gold reward that labels the pairs: one of positivity, conciseness", Message(parsed, "$.preferences.reward"), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PolicyWithCorpusCompletionsAndPromptsPastTheContext_AreRefused()
    {
        var parsed = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "completions": "corpus", "policy": "bases/p.safetensors", "reward": "conciseness", "promptTokens": 100, "maxNewTokens": 100 } """);

        Assert.StartsWith("only 'policy' completions are sampled from a policy", Message(parsed, "$.preferences.policy"), StringComparison.Ordinal);
        Assert.Equal("100 prompt tokens + 100 new tokens exceed gpt2-tiny's context of 128 tokens", Message(parsed, "$.preferences.maxNewTokens"));
    }

    [Theory]
    [InlineData(""" "shifted": { "pairs": 10 } """, "$.preferences.shifted", "shifted prompts from the same corpus need other topics")]
    [InlineData(""" "shifted": { "topics": ["riddles"] } """, "$.preferences.topics", "with shifted topics from the same corpus, list the in-distribution topics too")]
    [InlineData(""" "topics": ["riddles", "wisdom"], "shifted": { "topics": ["riddles"] } """, "$.preferences.shifted.topics", "topic(s) 'riddles' are also in-distribution topics")]
    [InlineData(""" "shifted": { "corpus": "news", "pairs": 0 } """, "$.preferences.shifted.pairs", "must be between 1 and")]
    public void Parse_ShiftedPromptsNotFromElsewhere_AreRefused(string shifted, string path, string message)
    {
        var parsed = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "reward": "conciseness", {{shifted}} } """);

        Assert.StartsWith(message, Message(parsed, path), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ASplitNamedShiftedBesideShiftedPrompts_IsRefused()
    {
        var parsed = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "reward": "conciseness", "shifted": { "corpus": "news" } }, "evaluation": { "splits": [ { "name": "shifted", "dataset": "other" } ] } """);

        Assert.Equal("'shifted' is the split of preferences.shifted; choose another name", Message(parsed, "$.evaluation.splits[0].name"));
    }

    [Fact]
    public void Plan_InitStages_PretrainALanguageModelOnTheCorpusThenSampleFromIt()
    {
        var spec = Parse($$"""{{Data}}, "seed": 4, "init": { "pretrainSteps": 30, "learningRate": 0.001 }, "members": { "optimizer": "adamw", "learningRates": [0.001] }, "preferences": { "corpus": "fortunes", "topics": ["wisdom"], "reward": "conciseness", "trainPairs": 40, "testPairs": 10, "shifted": { "corpus": "news", "pairs": 7 } } """).Spec!;

        var pretrain = (TrainJob)Assert.Single(JobPlanner.Plan(spec, new DispatchRequest("h", "p1", JobStages.Pretrain, 0)));
        var pairs = (PairsJob)Assert.Single(JobPlanner.Plan(spec, new DispatchRequest("h", "p1", JobStages.Pairs, 0, "p1/init/model.safetensors")));

        Assert.Equal(("fortunes", DataLayouts.Text, "in", "adamw"), (pretrain.Data.Dataset, pretrain.Data.Layout, pretrain.Data.Part, pretrain.Settings.Optimizer));
        Assert.Equal(["wisdom"], pretrain.Data.Domains!);
        Assert.Equal(("p1/init/pairs", "p1/init/model.safetensors", "conciseness", 40, 10, 7), (pairs.JobId, pairs.Policy, pairs.Reward, pairs.TrainPairs, pairs.TestPairs, pairs.ShiftedPairs));
        Assert.Equal(("fortunes", "out", 0.2, 4), (pairs.Corpus.Dataset, pairs.Corpus.Part, pairs.Corpus.HoldoutFraction, pairs.Corpus.SplitSeed));
        Assert.Equal(("news", "all"), (pairs.Shifted!.Dataset, pairs.Shifted.Part));
        Assert.Equal(["init/pairs"], JobPlanner.Slots(spec, JobStages.Pairs, 0));
        Assert.Equal("p1/init/pairs/results.json", Soup.Core.Storage.CheckpointLayout.OutputBlob(pairs));
        Assert.Equal("p1/init/pairs/train/pairs.jsonl", PairDatasets.Blob("p1", PairDatasets.Train));
    }

    [Fact]
    public void Plan_CorpusCompletions_SampleFromNoPolicy_AndAGivenPolicyWinsOverTheInit()
    {
        var corpus = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "completions": "corpus", "reward": "conciseness" } """).Spec!;
        var given = Parse($$"""{{Data}}, "preferences": { "corpus": "fortunes", "policy": "bases/rl-policy.safetensors", "reward": "conciseness" } """).Spec!;

        Assert.Null(((PairsJob)JobPlanner.Plan(corpus, new DispatchRequest("h", "p", JobStages.Pairs, 0, "p/init/model.safetensors"))[0]).Policy);
        Assert.Equal("bases/rl-policy.safetensors", ((PairsJob)JobPlanner.Plan(given, new DispatchRequest("h", "p", JobStages.Pairs, 0, "p/init/model.safetensors"))[0]).Policy);
        Assert.Throws<PlanningException>(() => JobPlanner.Plan(Parse(Data + """, "preferences": null """).Spec ?? corpus with { Preferences = null }, new DispatchRequest("h", "p", JobStages.Pairs, 0)));
    }
}
