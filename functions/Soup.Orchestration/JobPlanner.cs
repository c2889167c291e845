using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>Turns a spec into the jobs of each stage. Pure and deterministic: safe to call from an orchestrator.</summary>
public static class JobPlanner
{
    /// <summary>The pretraining job that makes the shared init when the spec names no checkpoint.</summary>
    public static TrainJob Pretrain(PipelineSpec spec, string pipelineId) => new()
    {
        PipelineId = pipelineId,
        Slot = CheckpointLayout.InitSlot,
        Model = spec.Model,
        Data = TrainData(spec),
        InitCheckpoint = null,
        Settings = new TrainSettings(
            spec.Init.PretrainSteps, spec.Members.BatchSize, spec.Init.LearningRate, spec.Members.Momentum, spec.Members.WeightDecay, MemberSeed(spec, 0, 0)),
    };

    /// <summary>The fine-tuning jobs of a round, all starting from <paramref name="init"/>.</summary>
    public static IReadOnlyList<TrainJob> Members(PipelineSpec spec, string pipelineId, int round, string init) =>
        [.. Enumerable.Range(0, spec.Members.Count).Select(m => new TrainJob
        {
            PipelineId = pipelineId,
            Slot = CheckpointLayout.MemberSlot(round, m),
            Model = spec.Model,
            Data = TrainData(spec),
            InitCheckpoint = init,
            Settings = new TrainSettings(
                spec.Members.Steps,
                spec.Members.BatchSize,
                LearningRate(spec, m),
                spec.Members.Momentum,
                spec.Members.WeightDecay,
                MemberSeed(spec, round, m)),
        })];

    /// <summary>The evaluation job of a round: every member and the soup, on the spec's evaluation split.</summary>
    public static EvaluateJob Evaluation(PipelineSpec spec, string pipelineId, int round, IReadOnlyList<string> checkpoints) => new()
    {
        PipelineId = pipelineId,
        Slot = CheckpointLayout.EvaluationSlot(round),
        Model = spec.Model,
        Data = new DataRef(spec.Data.Dataset, spec.Data.EvalSplit, spec.Data.EvalLimit, spec.Data.ValidationFraction, spec.Seed),
        Checkpoints = checkpoints,
    };

    /// <summary>Member <paramref name="member"/>'s learning rate: the spec's list, cycled.</summary>
    public static double LearningRate(PipelineSpec spec, int member) => spec.Members.LearningRates[member % spec.Members.LearningRates.Count];

    /// <summary>A seed distinct for every (round, member) of a pipeline; round 0 is pretraining.</summary>
    public static int MemberSeed(PipelineSpec spec, int round, int member) =>
        unchecked((spec.Seed * 100_000) + (round * 1_000) + member) & int.MaxValue;

    private static DataRef TrainData(PipelineSpec spec) =>
        new(spec.Data.Dataset, "train", spec.Data.TrainLimit, spec.Data.ValidationFraction, spec.Seed);
}
