using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>The work a spec plans, priced against a deployment's budget.</summary>
public sealed class PipelineLimitsTests
{
    [Fact]
    public void Work_CountsEveryTrainingJobAndEveryCheckpointOfEveryRound()
    {
        var spec = new PipelineSpec
        {
            Name = "work",
            Rounds = 3,
            Init = new InitSpec { PretrainSteps = 100, LinearProbe = new LinearProbeSpec { Steps = 20 } },
            Auxiliary = [new AuxiliarySpec { Name = "a", Steps = 7 }, new AuxiliarySpec { Name = "b" }],
            Members = new MembersSpec { Count = 4, Steps = 50, Explicit = [new MemberSettings { Steps = 10 }] },
            Soup = new SoupSpec { Greedy = true, TowardInit = 0.5, Interpolation = new InterpolationSpec { Points = 5 } },
        };

        var work = PipelineWork.Of(spec);

        // init: 100 + 20 + 7 + 50 (aux b takes members.steps); rounds: 3 × (10 + 3 × 50).
        Assert.Equal(177 + (3 * 160), work.TrainingSteps);
        // init: pretrain, probe, 2 auxiliaries; per round: 4 members + soup + the greedy soup + LITI + 5 points.
        Assert.Equal(4 + (3 * 12), work.Checkpoints);
    }

    [Fact]
    public void Work_CountsMorlBaselines_AtMemberFromsSteps()
    {
        var spec = new PipelineSpec
        {
            Name = "morl",
            Rounds = 2,
            Init = new InitSpec { Checkpoint = "base.safetensors" },
            Members = new MembersSpec { Count = 2, Steps = 40, Explicit = [new MemberSettings(), new MemberSettings { Steps = 10 }] },
            Soup = new SoupSpec { Interpolation = new InterpolationSpec { From = 1, To = 0, Points = 3, Morl = [0.25, 0.5, 0.75] } },
        };

        var work = PipelineWork.Of(spec);

        // per round: members 40 + 10, three baselines at member 1's 10 steps.
        Assert.Equal(2 * (50 + 30), work.TrainingSteps);
        // per round: 2 members + 3 baselines + soup + 3 points.
        Assert.Equal(2 * 9, work.Checkpoints);
    }

    [Fact]
    public void Check_NamesEachLimitExceeded_AndNothingWithinThem()
    {
        var spec = new PipelineSpec { Name = "work", Rounds = 2, Init = new InitSpec { Checkpoint = "base.safetensors" }, Members = new MembersSpec { Count = 10, Steps = 100 } };

        Assert.Empty(new PipelineLimits { MaxPipelineTrainingSteps = 2000, MaxPipelineCheckpoints = 22 }.Check(spec, ["datasets"]));
        var both = new PipelineLimits { MaxPipelineTrainingSteps = 1999, MaxPipelineCheckpoints = 21 }.Check(spec, ["datasets"]);

        Assert.Equal(2, both.Count);
        Assert.Contains(nameof(PipelineLimits.MaxPipelineTrainingSteps), both[0].Message, StringComparison.Ordinal);
        Assert.Contains("2,000 training steps", both[0].Message, StringComparison.Ordinal);
        Assert.Contains(nameof(PipelineLimits.MaxPipelineCheckpoints), both[1].Message, StringComparison.Ordinal);
        Assert.Equal("$", both[1].Path);
    }

    [Fact]
    public void Check_RefusesDatasetsOutsideTheDatasetContainers_WithTheirPaths()
    {
        var spec = new PipelineSpec
        {
            Name = "data",
            Data = new DataSpec { Dataset = "blob:reports/some-pipeline" },
            Auxiliary = [new AuxiliarySpec { Name = "a", Dataset = "blob:datasets/aux" }, new AuxiliarySpec { Name = "b", Dataset = "blob:checkpoints/x" }],
            Evaluation = new EvaluationSpec
            {
                Splits = [new SplitSpec { Name = "s", Dataset = "fashion-mnist" }],
                Generation = new GenerationSpec { Dataset = "blob:checkpoints/prompts", Rewards = ["conciseness"] },
            },
        };

        var problems = new PipelineLimits().Check(spec, ["datasets"]);

        Assert.Equal(["$.data.dataset", "$.auxiliary[1].dataset", "$.evaluation.generation.dataset"], problems.Select(p => p.Path));
        Assert.Contains("container 'reports' is not a dataset container", problems[0].Message, StringComparison.Ordinal);
        Assert.Empty(new PipelineLimits().Check(spec, ["datasets", "reports", "checkpoints"]));
    }
}
