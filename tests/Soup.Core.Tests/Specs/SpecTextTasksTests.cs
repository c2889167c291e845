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

    private const string Text = """ "data": { "dataset": "corpus", "layout": "text", "evalSplit": "validation" } """;

    [Fact]
    public void Parse_LanguageModelSoupOnText_IsValid()
    {
        var parsed = Parse($$""" "recipe": "diwa", "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, "learningRates": [0.0003, 0.001] }, "evaluation": { "splits": [ { "name": "other-corpus", "dataset": "other", "layout": "text", "part": "all" } ] } """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
    }

    [Fact]
    public void Parse_GenerationEvaluation_OnTextIsValid_ElsewhereAndOutOfRangeRefusedAtItsPath()
    {
        var valid = Parse($$""" "model": "gpt2-tiny", {{Text}}, "evaluation": { "generation": { "prompts": 16, "rewards": ["conciseness", "positivity", "conciseness-8"] } } """);
        var onPairs = Parse($$""" "model": "gpt2-tiny", {{Prefs}}, "evaluation": { "generation": { "rewards": ["conciseness"] } } """);
        var bad = Parse($$""" "model": "gpt2-tiny", {{Text}}, "evaluation": { "generation": { "prompts": 0, "topP": 0, "temperature": -1, "rewards": ["kindness", "conciseness", "conciseness"] } } """);
        var none = Parse($$""" "model": "gpt2-tiny", {{Text}}, "evaluation": { "generation": { } } """);
        var badFile = Parse($$""" "model": "gpt2-tiny", {{Text}}, "evaluation": { "generation": { "dataset": "../etc", "rewards": ["conciseness"], "klTo": "init" } } """);
        var file = Parse($$""" "model": "gpt2-tiny", {{Text}}, "evaluation": { "generation": { "dataset": "blob:datasets/prompts", "rewards": ["conciseness"] } } """);

        Assert.True(valid.IsValid, string.Join("; ", valid.Problems));
        Assert.Equal("samples completions from language models: it needs data.layout 'text', not 'preferences' (reward modelling)", Message(onPairs, "$.evaluation.generation"));
        Assert.Equal(
            ["$.evaluation.generation.prompts", "$.evaluation.generation.rewards[0]", "$.evaluation.generation.rewards[2]", "$.evaluation.generation.temperature", "$.evaluation.generation.topP"],
            bad.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Equal("unknown reward 'kindness': name a gold reward or one of $.rewardModels; known: positivity, conciseness, lexical-diversity, conciseness-N (N target words)", Message(bad, "$.evaluation.generation.rewards[0]"));
        Assert.StartsWith("name at least one reward", Message(none, "$.evaluation.generation.rewards"), StringComparison.Ordinal);
        Assert.Single(badFile.Problems, p => p.Path == "$.evaluation.generation.dataset");
        Assert.Equal("unknown reference 'init'; known: round-init, first-init", Message(badFile, "$.evaluation.generation.klTo"));
        Assert.True(file.IsValid, string.Join("; ", file.Problems));
    }

    [Theory]
    [InlineData("classification", "idx")]
    [InlineData("classification", "rotated")]
    [InlineData("language-modelling", "text")]
    [InlineData("reward-modelling", "preferences")]
    public void Parse_TaskOfItsLayout_IsValid(string task, string layout)
    {
        var model = layout is "text" or "preferences" ? "gpt2-tiny" : "cnn-small";
        var domains = layout == "rotated" ? """ , "trainDomains": ["0"] """ : "";

        var parsed = Parse($$""" "task": "{{task}}", "model": "{{model}}", "data": { "dataset": "d", "layout": "{{layout}}", "evalSplit": "validation" {{domains}} } """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
    }

    [Fact]
    public void Parse_TaskThatTheLayoutDoesNotMake_OrUnknown_SaysWhichLayoutItNeeds()
    {
        var mismatch = Parse($$""" "task": "language-modelling", "model": "gpt2-tiny", {{Prefs}} """);
        var unknown = Parse(""" "task": "translation" """);

        Assert.Equal("task 'language-modelling' needs data.layout 'text'; data.layout 'preferences' makes reward-modelling", Message(mismatch, "$.task"));
        Assert.Equal("unknown task 'translation'; known: classification, language-modelling, reward-modelling", Message(unknown, "$.task"));
    }

    private const string Rl = """ "rl": { "rewards": [ { "reward": "conciseness", "weight": 1 }, { "reward": "positivity", "weight": 0.5 } ], "samples": 4, "klCoefficient": 0.1, "anchorDecay": 0.99 } """;

    [Fact]
    public void Parse_RlMembersOnText_AreValid_AndPlanAdamWWithTheRlSettings()
    {
        var parsed = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, "learningRates": [0.0001, 0.0003], {{Rl}} } """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var job = JobPlanner.Members(parsed.Spec!, "p", 1, "p/init/model.safetensors")[1];
        Assert.Equal((Soup.Core.Jobs.Optimizers.AdamW, 0.0003), (job.Settings.Optimizer, job.Settings.LearningRate));
        Assert.Equal((4, 0.1, 0.99), (job.Settings.Rl!.Samples, job.Settings.Rl.KlCoefficient, job.Settings.Rl.AnchorDecay));
        Assert.Equal(["conciseness", "positivity"], job.Settings.Rl.Rewards!.Select(t => t.Reward));
    }

    [Fact]
    public void Parse_RlMembersWithARewardEach_PlanEachItsOwn_RewardsWithoutRlAreRefused()
    {
        var each = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, "rl": { "samples": 2 }, "explicit": [ { "learningRate": 0.0003, "rewards": [ { "reward": "positivity" } ] }, { "learningRate": 0.0003, "rewards": [ { "reward": "conciseness" } ] } ] } """);
        var withoutRl = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, "explicit": [ { "learningRate": 0.0003, "rewards": [ { "reward": "positivity" } ] }, { "learningRate": 0.001 } ] } """);

        Assert.True(each.IsValid, string.Join("; ", each.Problems));
        var jobs = JobPlanner.Members(each.Spec!, "p", 1, "p/init/model.safetensors");
        Assert.Equal(["positivity", "conciseness"], jobs.Select(j => Assert.Single(j.Settings.Rl!.Rewards!).Reward));
        Assert.Equal("a member's rewards are what reinforcement learning optimises: set members.rl", Message(withoutRl, "$.members.explicit[0].rewards"));
    }

    [Fact]
    public void Parse_WarpOfRlPolicies_TakesTheMovingAnchorFromRl()
    {
        const string Warp = """ "recipe": "warp", "model": "gpt2-tiny", "merge": { "method": "nuslerp" }, "soup": { "towardInit": 0.5 } """;
        var moving = Parse($$""" {{Warp}}, {{Text}}, "members": { "count": 2, "learningRates": [0.0003, 0.001], "rl": { "rewards": [ { "reward": "conciseness" } ], "anchorDecay": 0.99 } } """);
        var fixedAnchor = Parse($$""" {{Warp}}, {{Text}}, "members": { "count": 2, "learningRates": [0.0003, 0.001], "rl": { "rewards": [ { "reward": "conciseness" } ] } } """);

        Assert.True(moving.IsValid, string.Join("; ", moving.Problems));
        Assert.StartsWith("recipe 'warp' trains its RL policies toward an EMA anchor", Message(fixedAnchor, "$.members.rl.anchorDecay"), StringComparison.Ordinal);
    }

    private const string RewardModels = """ "rewardModels": [ { "name": "warm", "checkpoint": "warm-1/round-1/soup.safetensors" }, { "name": "big", "checkpoint": "rms/big.safetensors", "model": "distilgpt2" } ] """;

    [Fact]
    public void Parse_RewardModelsNamedAsRewards_AreValid_AndTravelWithTheJobsThatNameThem()
    {
        var parsed = Parse($$"""
            "model": "gpt2-tiny", {{Text}}, {{RewardModels}},
            "members": { "count": 2, "rl": { "samples": 2, "track": ["conciseness", "big"] }, "explicit": [ { "learningRate": 0.0003, "rewards": [ { "reward": "warm" } ] }, { "learningRate": 0.0003, "rewards": [ { "reward": "conciseness" } ] } ] },
            "evaluation": { "generation": { "rewards": ["conciseness", "warm", "big"] } }
            """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var jobs = JobPlanner.Members(parsed.Spec!, "p", 1, "p/init/model.safetensors");
        var model = jobs[0].RewardModels![0];
        Assert.Equal(("warm", "warm-1/round-1/soup.safetensors", "gpt2-tiny"), (model.Name, model.Checkpoint, model.Model)); // the pipeline's size filled in
        Assert.Equal(["conciseness", "big"], jobs[0].Settings.Rl!.Track!);
        Assert.Equal(["big"], jobs[1].RewardModels!.Select(m => m.Name)); // a gold reward needs no model; a tracked reward model travels too
        var evaluation = JobPlanner.Evaluation(parsed.Spec!, "p", 1, ["a", "b", "soup"]);
        var toFirst = JobPlanner.Plan(parsed.Spec!, new DispatchRequest("h", "p", JobStages.Evaluation, 3, "p/round-02/soup/model.safetensors", Evaluation: new EvaluationPlan(["a", "b", "soup"], 2) { Reference = "p/init/model.safetensors" }));
        Assert.Equal("p/init/model.safetensors", ((Soup.Core.Jobs.EvaluateJob)Assert.Single(toFirst)).Generation!.Reference); // klTo: first-init
        Assert.Equal([("warm", "gpt2-tiny"), ("big", "distilgpt2")], evaluation.Generation!.RewardModels!.Select(m => (m.Name, m.Model!)));
    }

    [Fact]
    public void Parse_RewardModels_Bad_AreRefusedAtTheirPaths_AndUndeclaredNamesListWhatIsKnown()
    {
        var bad = Parse($$"""
            "model": "gpt2-tiny", {{Text}},
            "rewardModels": [ { "name": "positivity", "checkpoint": "a.safetensors" }, { "name": "rm", "checkpoint": "../x" }, { "name": "rm", "checkpoint": "b.safetensors", "model": "resnet18" }, { "name": "Bad Name", "checkpoint": "c" } ],
            "members": { "count": 2, "learningRates": [0.0001, 0.0003], "rl": { "rewards": [ { "reward": "warm" } ], "track": ["rm", "kindness", "rm"] } }
            """);
        var imagePipeline = Parse(""" "rewardModels": [ { "name": "rm", "checkpoint": "rm.safetensors" } ] """);

        Assert.Equal(
            ["$.members.rl.rewards[0].reward", "$.members.rl.track[1]", "$.members.rl.track[2]", "$.rewardModels[0].name", "$.rewardModels[1].checkpoint", "$.rewardModels[2].model", "$.rewardModels[2].name", "$.rewardModels[3].name"],
            bad.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Equal("'positivity' is a gold reward's name; give the reward model another", Message(bad, "$.rewardModels[0].name"));
        Assert.Equal("'rm' is declared twice", Message(bad, "$.rewardModels[2].name"));
        Assert.Equal("'rm' is listed twice", Message(bad, "$.members.rl.track[2]"));
        Assert.Equal("unknown reward 'warm': name a gold reward or one of $.rewardModels; known: positivity, conciseness, lexical-diversity, rm, conciseness-N (N target words)", Message(bad, "$.members.rl.rewards[0].reward"));
        Assert.Equal("a reward model is a GPT-2 size: one of gpt2-tiny, distilgpt2, gpt2, got 'cnn-small' (the pipeline's model)", Message(imagePipeline, "$.rewardModels[0].model"));
    }

    [Fact]
    public void Parse_MorlBaselines_PlanOneRlRunPerLambda_OnTheMixOfTheTwoMembersRewards()
    {
        var parsed = Parse($$"""
            "recipe": "rewarded", "model": "gpt2-tiny", {{Text}},
            "members": { "count": 2, "steps": 30, "rl": { "samples": 2, "track": ["lexical-diversity"] },
                         "explicit": [ { "learningRate": 0.0003, "rewards": [ { "reward": "conciseness" }, { "reward": "positivity", "weight": 0.5 } ] }, { "learningRate": 0.001, "rewards": [ { "reward": "positivity" } ] } ] },
            "soup": { "interpolation": { "from": 0, "to": 1, "points": 5, "morl": [0.25, 0.75] } }
            """);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        var jobs = JobPlanner.Plan(parsed.Spec!, new DispatchRequest("h", "p", JobStages.Members, 1, "p/init/model.safetensors")).Cast<Soup.Core.Jobs.TrainJob>().ToList();
        Assert.Equal(["round-01/member-000", "round-01/member-001", "round-01/morl-000", "round-01/morl-001"], jobs.Select(j => j.Slot));
        Assert.Equal(jobs.Select(j => j.Slot), JobPlanner.Slots(parsed.Spec! with { Members = parsed.Spec!.Members with { Explicit = null } }, JobStages.Members, 1));
        var quarter = jobs[2].Settings;
        // 0.75·(conciseness + 0.5·positivity) + 0.25·positivity: positivity's two terms summed.
        Assert.Equal([("conciseness", 0.75), ("positivity", 0.625)], quarter.Rl!.Rewards!.Select(t => (t.Reward, t.Weight)));
        Assert.Equal([("conciseness", 0.25), ("positivity", 0.875)], jobs[3].Settings.Rl!.Rewards!.Select(t => (t.Reward, t.Weight)));
        Assert.Equal((0.0003, jobs[0].Settings.Seed, 30), (quarter.LearningRate, quarter.Seed, quarter.Steps)); // member `from`'s settings
        Assert.Equal(["lexical-diversity"], quarter.Rl.Track!);
    }

    [Fact]
    public void Parse_RlSettingsBeyondTheContext_OrSupervisedSettingsRlIgnores_AreRefusedAtTheirPaths()
    {
        var parsed = Parse($$"""
            "model": "gpt2-tiny", {{Text}},
            "members": { "count": 2, "learningRates": [0.001], "dropout": 0.1, "explicit": [ { "anchorWeight": 0.5 }, { } ],
                         "rl": { "rewards": [ { "reward": "conciseness" } ], "promptTokens": 100, "maxNewTokens": 40 } },
            "evaluation": { "generation": { "rewards": ["conciseness"], "promptTokens": 8, "maxNewTokens": 121 } }
            """);

        Assert.Equal(
            ["$.evaluation.generation.maxNewTokens", "$.members.dropout", "$.members.explicit[0].anchorWeight", "$.members.rl.maxNewTokens"],
            parsed.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Equal("100 prompt tokens + 40 new tokens exceed gpt2-tiny's context of 128 tokens", Message(parsed, "$.members.rl.maxNewTokens"));
        Assert.StartsWith("RL members do not use dropout", Message(parsed, "$.members.dropout"), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MorlBaselines_WithoutRl_OrOutOfRange_AreRefusedAtTheirPaths()
    {
        var withoutRl = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2 }, "soup": { "interpolation": { "morl": [0.5] } } """);
        var bad = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, "learningRates": [0.001], {{Rl}} }, "soup": { "interpolation": { "morl": [0, 0.5, 1, 0.5] } } """);

        Assert.StartsWith("MORL baselines are RL fine-tunings", Message(withoutRl, "$.soup.interpolation.morl"), StringComparison.Ordinal);
        Assert.Equal(["$.soup.interpolation.morl[0]", "$.soup.interpolation.morl[2]", "$.soup.interpolation.morl[3]"], bad.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Equal("0.5 is listed twice", Message(bad, "$.soup.interpolation.morl[3]"));
    }

    [Fact]
    public void Parse_RlMembers_OutOfPlace_OrOutOfRange_AreRefusedAtTheirPaths()
    {
        var onPairs = Parse($$""" "model": "gpt2-tiny", {{Prefs}}, "members": { "count": 2, "learningRates": [0.0001, 0.0003], {{Rl}} } """);
        var bad = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, "optimizer": "sgd", "average": "ema", "learningRates": [0.0001, 0.0003], "rl": { "rewards": [ { "reward": "kindness" }, { "reward": "conciseness", "weight": 1 }, { "reward": "conciseness" } ], "samples": 1, "anchorDecay": 1 } } """);
        var none = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, "learningRates": [0.0001, 0.0003], "rl": { } } """);

        Assert.Contains("it needs data.layout 'text' (the prompts), not 'preferences'", Message(onPairs, "$.members.rl"), StringComparison.Ordinal);
        Assert.Equal(
            ["$.members.average", "$.members.optimizer", "$.members.rl.anchorDecay", "$.members.rl.rewards[0].reward", "$.members.rl.rewards[2].reward", "$.members.rl.samples"],
            bad.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.StartsWith("name at least one reward", Message(none, "$.members.rl.rewards"), StringComparison.Ordinal);
        var defaultRates = Parse($$""" "model": "gpt2-tiny", {{Text}}, "members": { "count": 2, {{Rl}} } """);
        Assert.StartsWith("RL members are trained with AdamW: give their learning rates", Message(defaultRates, "$.members.learningRates"), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SplitOfAnotherTask_NamesBothTasks()
    {
        var textInRewards = Parse($$""" "model": "gpt2-tiny", {{Prefs}}, "evaluation": { "splits": [ { "name": "corpus", "dataset": "c", "layout": "text" } ] } """);
        var pairsInText = Parse($$""" "model": "gpt2-tiny", {{Text}}, "evaluation": { "splits": [ { "name": "pairs", "dataset": "p", "layout": "preferences" } ] } """);

        Assert.Equal(
            "a split of layout text (language modelling) cannot score the models a pipeline of layout preferences (reward modelling) trains",
            Message(textInRewards, "$.evaluation.splits[0].layout"));
        Assert.Equal(
            "a split of layout preferences (reward modelling) cannot score the models a pipeline of layout text (language modelling) trains",
            Message(pairsInText, "$.evaluation.splits[0].layout"));
    }

    [Fact]
    public void Parse_ClassifierSettingsOnText_AreRefusedWhereTheyAre()
    {
        var parsed = Parse($$""" "model": "gpt2-tiny", {{Text}}, "init": { "linearProbe": { "steps": 10 } }, "members": { "count": 2, "explicit": [ { "learningRate": 0.001, "classWeights": [1, 2] }, { "learningRate": 0.0003 } ] } """);
        var probedRewardModel = Parse($$""" "model": "gpt2-tiny", {{Prefs}}, "init": { "linearProbe": { "steps": 10 } } """);

        Assert.Contains("a language model's head is its token embedding", Message(parsed, "$.init.linearProbe"), StringComparison.Ordinal);
        Assert.Equal("class weights are for classifiers; language modelling has no classes", Message(parsed, "$.members.explicit[0].classWeights"));
        Assert.True(probedRewardModel.IsValid, string.Join("; ", probedRewardModel.Problems)); // a reward model's scalar head can be probed
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

        Assert.Equal(
            "a split of layout idx (image classification) cannot score the models a pipeline of layout preferences (reward modelling) trains",
            Message(parsed, "$.evaluation.splits[0].layout"));
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
