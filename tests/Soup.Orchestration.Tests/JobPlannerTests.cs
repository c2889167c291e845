using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

public sealed class JobPlannerTests
{
    private const string Id = "plan-test";

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void MemberSeed_MaxMembersAndRounds_AllDistinctAndNonNegative(int seed)
    {
        var spec = new PipelineSpec { Seed = seed, Rounds = SpecLimits.MaxRounds, Members = new MembersSpec { Count = SpecLimits.MaxMembers } };

        var seeds = new List<int> { JobPlanner.Pretrain(spec, Id).Settings.Seed };
        for (var round = 1; round <= spec.Rounds; round++)
        {
            seeds.AddRange(JobPlanner.Members(spec, Id, round, "init").Select(j => j.Settings.Seed));
        }

        Assert.Equal(1 + (SpecLimits.MaxRounds * SpecLimits.MaxMembers), seeds.Count);
        Assert.Equal(seeds.Count, seeds.Distinct().Count());
        Assert.All(seeds, s => Assert.True(s >= 0, $"seed {s} is negative"));
    }

    [Fact]
    public void Plan_WithDataVersions_PinsEveryDatasetItNames_AndNoOther()
    {
        var spec = new PipelineSpec
        {
            Name = "pin",
            Data = new DataSpec { Dataset = "blob:datasets/train", Layout = "rotated", TrainDomains = ["0"], TestDomains = ["60"] },
            Evaluation = new EvaluationSpec { Splits = [new SplitSpec { Name = "other", Dataset = "fashion-mnist", Layout = "idx", Part = "test" }] },
            Members = new MembersSpec { Count = 2 },
        };
        var versions = new Dictionary<string, string> { ["blob:datasets/train"] = "sha256:0123456789abcdef" };

        var members = JobPlanner.Plan(spec, new DispatchRequest("h", Id, JobStages.Members, 1, "init.safetensors") { DataVersions = versions });
        var evaluation = JobPlanner.Plan(spec, new DispatchRequest("h", Id, JobStages.Evaluation, 1, Evaluation: new EvaluationPlan(["a", "b"], 2)) { DataVersions = versions });
        var unpinned = JobPlanner.Plan(spec, new DispatchRequest("h", Id, JobStages.Members, 1, "init.safetensors"));

        Assert.All(members.Cast<Soup.Core.Jobs.TrainJob>(), j => Assert.Equal("sha256:0123456789abcdef", j.Data.Version));
        var splits = Assert.IsType<Soup.Core.Jobs.EvaluateJob>(Assert.Single(evaluation)).Splits;
        Assert.All(splits.Where(s => s.Data.Dataset == "blob:datasets/train"), s => Assert.Equal("sha256:0123456789abcdef", s.Data.Version));
        Assert.Null(Assert.Single(splits, s => s.Data.Dataset == "fashion-mnist").Data.Version);
        Assert.All(unpinned.Cast<Soup.Core.Jobs.TrainJob>(), j => Assert.Null(j.Data.Version));
    }

    [Fact]
    public void Plan_GenerationEvaluation_SamplesEveryCheckpoint_PromptsFromThePrimarySplit_KlToTheRoundsInit_Pinned()
    {
        var spec = new PipelineSpec
        {
            Name = "lm", Seed = 5, Model = "gpt2-tiny",
            Data = new DataSpec { Dataset = "blob:datasets/corpus", Layout = "text", EvalSplit = "validation" },
            Evaluation = new EvaluationSpec { Generation = new GenerationSpec { Prompts = 16, MaxNewTokens = 12, Rewards = ["conciseness", "positivity"], Keep = 3 } },
            Members = new MembersSpec { Count = 2 },
        };
        var versions = new Dictionary<string, string> { ["blob:datasets/corpus"] = "sha256:00ff" };

        var job = Assert.IsType<Soup.Core.Jobs.EvaluateJob>(Assert.Single(JobPlanner.Plan(
            spec, new DispatchRequest("h", Id, JobStages.Evaluation, 2, "lm/round-01/soup/model.safetensors", Evaluation: new EvaluationPlan(["a", "b", "soup"], 2)) { DataVersions = versions })));
        var imageSpec = spec with { Model = "cnn-small", Data = new DataSpec(), Evaluation = null };
        var image = Assert.IsType<Soup.Core.Jobs.EvaluateJob>(Assert.Single(JobPlanner.Plan(
            imageSpec, new DispatchRequest("h", Id, JobStages.Evaluation, 1, "init", Evaluation: new EvaluationPlan(["a", "b", "soup"], 2)))));

        var plan = job.Generation!;
        Assert.Equal([0, 1, 2], plan.Checkpoints);
        Assert.Equal(("lm/round-01/soup/model.safetensors", 5, 16, 12, 3), (plan.Reference, plan.Seed, plan.PromptCount, plan.MaxNewTokens, plan.Keep));
        Assert.Equal(["conciseness", "positivity"], plan.Rewards);
        Assert.Equal(job.Splits[0].Data, plan.Prompts); // the primary (validation) split's documents
        Assert.Equal(("out", "sha256:00ff"), (plan.Prompts.Part, plan.Prompts.Version));
        Assert.Null(image.Generation);
        Assert.False(plan.WholeDocuments);

        // A prompts file: its documents, all of them, each a whole prompt.
        var withFile = spec with { Evaluation = new EvaluationSpec { Generation = new GenerationSpec { Dataset = "blob:datasets/prompts", Rewards = ["conciseness"] } } };
        var filePlan = Assert.IsType<Soup.Core.Jobs.EvaluateJob>(Assert.Single(JobPlanner.Plan(
            withFile, new DispatchRequest("h", Id, JobStages.Evaluation, 1, "init", Evaluation: new EvaluationPlan(["a", "b", "soup"], 2))))).Generation!;
        Assert.Equal(("blob:datasets/prompts", "text", "all", true), (filePlan.Prompts.Dataset, filePlan.Prompts.Layout, filePlan.Prompts.Part, filePlan.WholeDocuments));
    }

    [Fact]
    public void Plan_AStageTheSpecDoesNotHave_IsAPlanningErrorNamingIt()
    {
        var spec = TestSpecs.Create(rounds: 1, members: 2);

        var probe = Assert.Throws<PlanningException>(() => JobPlanner.Plan(spec, new DispatchRequest("h", Id, JobStages.Probe, 0, "init")));
        var missing = Assert.Throws<PlanningException>(() => JobPlanner.Members(
            spec with { Auxiliary = [new AuxiliarySpec { Name = "a45", Steps = 5 }] }, Id, 1, "init", new Dictionary<string, string>()));

        Assert.Equal("the spec has no linear probe stage", probe.Message);
        Assert.Contains("auxiliary fine-tuning 'a45' has no checkpoint", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Members_MoreMembersThanRates_CyclesLearningRates()
    {
        var spec = new PipelineSpec { Members = new MembersSpec { Count = 7, LearningRates = [0.01, 0.02, 0.05] } };

        var jobs = JobPlanner.Members(spec, Id, 1, "init");

        Assert.Equal([0.01, 0.02, 0.05, 0.01, 0.02, 0.05, 0.01], jobs.Select(j => j.Settings.LearningRate));
    }

    [Fact]
    public void Members_Round_SlotsInitAndSettingsFromSpec()
    {
        var spec = new PipelineSpec
        {
            Seed = 3,
            Model = "cnn-small",
            Data = new DataSpec { Dataset = "digits", TrainLimit = 500, ValidationFraction = 0.25 },
            Members = new MembersSpec { Count = 2, Steps = 9, BatchSize = 16, Momentum = 0.8, WeightDecay = 0.001 },
        };

        var jobs = JobPlanner.Members(spec, Id, 4, "p/round-03/soup/model.safetensors");

        Assert.Equal(["round-04/member-000", "round-04/member-001"], jobs.Select(j => j.Slot));
        Assert.All(jobs, j =>
        {
            Assert.Equal(Id, j.PipelineId);
            Assert.Equal("p/round-03/soup/model.safetensors", j.InitCheckpoint);
            Assert.Equal(("digits", "idx", "in", 500, 0.25, 3), (j.Data.Dataset, j.Data.Layout, j.Data.Part, j.Data.Limit, j.Data.HoldoutFraction, j.Data.SplitSeed));
            Assert.Equal((9, 16, 0.8, 0.001), (j.Settings.Steps, j.Settings.BatchSize, j.Settings.Momentum, j.Settings.WeightDecay));
        });
        Assert.Equal($"{Id}/round-04/member-001", jobs[1].JobId);
        Assert.All(jobs, j => Assert.Equal(SpecHash.Compute(spec), j.SpecHash));
        Assert.Matches("^[0-9a-f]{64}$", jobs[0].SpecHash);
        Assert.NotEqual(jobs[0].SpecHash, JobPlanner.Members(spec with { Seed = spec.Seed + 1 }, Id, 4, "x")[0].SpecHash);
    }

    [Fact]
    public void Members_TrainingSettings_ComeFromTheSpecWithWorkerDefaultsWhenUnset()
    {
        var tuned = new PipelineSpec { Members = new MembersSpec { Count = 2, Steps = 50, Optimizer = "adamw", Dropout = 0.1, Average = "ma", AverageStart = 10 } };

        var settings = JobPlanner.Members(tuned, Id, 1, "i").Select(j => j.Settings).ToList();
        var plain = JobPlanner.Members(new PipelineSpec(), Id, 1, "i")[0].Settings;

        Assert.All(settings, s => Assert.Equal(("adamw", 0.1, "ma", 10), (s.Optimizer, s.Dropout, s.Average, s.AverageStart)));
        Assert.Equal(("sgd", 0.0, "none", 1), (plain.Optimizer, plain.Dropout, plain.Average, plain.AverageStart));
    }

    [Fact]
    public void Pretrain_NoCheckpoint_UsesInitSettingsAndInitSlot()
    {
        var spec = new PipelineSpec { Init = new InitSpec { PretrainSteps = 42, LearningRate = 0.3 } };

        var job = JobPlanner.Pretrain(spec, Id);

        Assert.Equal("init", job.Slot);
        Assert.Null(job.InitCheckpoint);
        Assert.Equal(42, job.Settings.Steps);
        Assert.Equal(0.3, job.Settings.LearningRate);
        Assert.Equal("in", job.Data.Part);
    }

    [Fact]
    public void Evaluation_Checkpoints_IncludesAllInOrderPrimarySplitFirst()
    {
        var spec = new PipelineSpec { Seed = 5, Data = new DataSpec { EvalSplit = "validation", EvalLimit = 100, ValidationFraction = 0.1 } };
        string[] checkpoints = ["p/round-02/member-000/model.safetensors", "p/round-02/member-001/model.safetensors", "p/round-02/soup/model.safetensors"];

        var job = JobPlanner.Evaluation(spec, Id, 2, checkpoints);

        Assert.Equal("round-02/eval", job.Slot);
        Assert.Equal(checkpoints, job.Checkpoints);
        Assert.Equal(["validation", "test"], job.Splits.Select(s => s.Name));
        var split = job.Splits[0];
        Assert.Equal(("fashion-mnist", "out", 100, 0.1, 5), (split.Data.Dataset, split.Data.Part, split.Data.Limit, split.Data.HoldoutFraction, split.Data.SplitSeed));
        Assert.Equal(("test", 100), (job.Splits[1].Data.Part, job.Splits[1].Data.Limit));
        Assert.Equal(["test", "validation"], JobPlanner.Evaluation(spec with { Data = spec.Data with { EvalSplit = "test" } }, Id, 2, checkpoints).Splits.Select(s => s.Name));
        Assert.Equal([0, 1], job.Ensemble!);
        Assert.Equal(new Soup.Core.Jobs.CheckpointPair(0, 1), Assert.Single(job.Connectivity!));
    }
}
