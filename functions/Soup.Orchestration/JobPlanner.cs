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
        SpecHash = SpecHash.Compute(spec),
        Data = TrainData(spec),
        InitCheckpoint = null,
        Settings = new TrainSettings
        {
            Steps = spec.Init.PretrainSteps,
            BatchSize = spec.Members.BatchSize,
            LearningRate = spec.Init.LearningRate,
            Momentum = spec.Members.Momentum,
            WeightDecay = spec.Members.WeightDecay,
            Seed = MemberSeed(spec, 0, 0),
        },
    };

    /// <summary>The fine-tuning jobs of a round, all starting from <paramref name="init"/>.</summary>
    public static IReadOnlyList<TrainJob> Members(PipelineSpec spec, string pipelineId, int round, string init)
    {
        var hash = SpecHash.Compute(spec);
        return [.. Enumerable.Range(0, spec.Members.Count).Select(m => new TrainJob
        {
            PipelineId = pipelineId,
            Slot = CheckpointLayout.MemberSlot(round, m),
            Model = spec.Model,
            SpecHash = hash,
            Data = TrainData(spec),
            InitCheckpoint = init,
            Settings = new TrainSettings
            {
                Steps = spec.Members.Steps,
                BatchSize = spec.Members.BatchSize,
                LearningRate = LearningRate(spec, m),
                Momentum = spec.Members.Momentum,
                WeightDecay = spec.Members.WeightDecay,
                Seed = MemberSeed(spec, round, m),
                Optimizer = spec.Members.Optimizer ?? Optimizers.Sgd,
                Dropout = spec.Members.Dropout ?? 0,
                Average = spec.Members.Average ?? WeightAverages.None,
                AverageStart = spec.Members.AverageStart ?? 1,
            },
        })];
    }

    /// <summary>
    /// The evaluation job of a round: every member and the soup on the spec's evaluation split (the primary split), with
    /// the members' ensemble and diversity, and the midpoint connectivity of the first two members.
    /// </summary>
    public static EvaluateJob Evaluation(PipelineSpec spec, string pipelineId, int round, IReadOnlyList<string> checkpoints)
    {
        var members = checkpoints.Count - 1;
        return new EvaluateJob
        {
            PipelineId = pipelineId,
            Slot = CheckpointLayout.EvaluationSlot(round),
            Model = spec.Model,
            SpecHash = SpecHash.Compute(spec),
            Checkpoints = checkpoints,
            Splits = [new EvaluationSplit(spec.Data.EvalSplit, EvaluationData(spec))],
            Ensemble = members >= 2 ? [.. Enumerable.Range(0, members)] : null,
            Connectivity = members >= 2 ? [new CheckpointPair(0, 1)] : null,
        };
    }

    /// <summary>Member <paramref name="member"/>'s learning rate: the spec's list, cycled.</summary>
    public static double LearningRate(PipelineSpec spec, int member) => spec.Members.LearningRates[member % spec.Members.LearningRates.Count];

    /// <summary>A seed distinct for every (round, member) of a pipeline; round 0 is pretraining.</summary>
    public static int MemberSeed(PipelineSpec spec, int round, int member) =>
        unchecked((spec.Seed * 100_000) + (round * 1_000) + member) & int.MaxValue;

    private static DataRef TrainData(PipelineSpec spec) => new()
    {
        Dataset = spec.Data.Dataset,
        Part = DataParts.In,
        Limit = spec.Data.TrainLimit,
        HoldoutFraction = spec.Data.ValidationFraction,
        SplitSeed = spec.Seed,
    };

    private static DataRef EvaluationData(PipelineSpec spec) => new()
    {
        Dataset = spec.Data.Dataset,
        Part = spec.Data.EvalSplit == "validation" ? DataParts.Out : DataParts.Test,
        Limit = spec.Data.EvalLimit,
        HoldoutFraction = spec.Data.ValidationFraction,
        SplitSeed = spec.Seed,
    };
}
