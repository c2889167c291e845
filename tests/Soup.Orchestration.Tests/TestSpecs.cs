using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>Small specs for orchestration tests.</summary>
internal static class TestSpecs
{
    public static readonly IReadOnlyList<double> LearningRates = [0.01, 0.02, 0.04];

    public static PipelineSpec Create(
        int rounds = 2, int members = 3, string? initCheckpoint = null, TimeSpan? roundTimeout = null, int? quorum = null, int? retries = null) => new()
    {
        Name = "orch-test",
        Seed = 11,
        Rounds = rounds,
        Data = new DataSpec { Dataset = "tiny", TrainLimit = 100, EvalLimit = 50, EvalSplit = "validation" },
        Init = new InitSpec { Checkpoint = initCheckpoint, PretrainSteps = 5, LearningRate = 0.05 },
        Members = new MembersSpec { Count = members, Steps = 7, BatchSize = 8, LearningRates = LearningRates, Quorum = quorum, Retries = retries },
        RoundTimeout = roundTimeout ?? TimeSpan.FromMinutes(10),
    };
}
