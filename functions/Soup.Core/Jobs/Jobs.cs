using System.Text.Json.Serialization;

namespace Soup.Core.Jobs;

/// <summary>
/// A unit of work for the workers, sent through the jobs queue. Its id is deterministic (<c>{pipelineId}/{slot}</c>)
/// and its output goes to the slot's folder (see <see cref="Storage.CheckpointLayout"/>).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(TrainJob), "train")]
[JsonDerivedType(typeof(EvaluateJob), "evaluate")]
public abstract record Job
{
    /// <summary>The pipeline (orchestration instance) the job belongs to.</summary>
    public required string PipelineId { get; init; }

    /// <summary>The job's folder under the pipeline.</summary>
    public required string Slot { get; init; }

    /// <summary>The network (a model name the workers know).</summary>
    public required string Model { get; init; }

    /// <summary>The data the job reads.</summary>
    public required DataRef Data { get; init; }

    /// <summary>The deterministic job id.</summary>
    [JsonIgnore]
    public string JobId => $"{PipelineId}/{Slot}";
}

/// <summary>Train (or fine-tune) one model and write its checkpoint.</summary>
public sealed record TrainJob : Job
{
    /// <summary>The checkpoint blob to start from; null starts from a random init seeded by the settings.</summary>
    public string? InitCheckpoint { get; init; }

    /// <summary>The optimization settings.</summary>
    public required TrainSettings Settings { get; init; }
}

/// <summary>Evaluate checkpoints on a split and write an <see cref="EvaluationReport"/>.</summary>
public sealed record EvaluateJob : Job
{
    /// <summary>The checkpoint blobs to evaluate, in report order.</summary>
    public required IReadOnlyList<string> Checkpoints { get; init; }
}

/// <summary>A dataset folder name, how its training files are split, and which split a job reads.</summary>
public sealed record DataRef(string Dataset, string Split, int? Limit, double ValidationFraction, int SplitSeed);

/// <summary>SGD settings of one training job.</summary>
public sealed record TrainSettings(int Steps, int BatchSize, double LearningRate, double Momentum, double WeightDecay, int Seed);

/// <summary>The report an evaluation job writes: one score per checkpoint, in the job's order.</summary>
public sealed record EvaluationReport(string Split, int Count, IReadOnlyList<CheckpointScore> Scores);

/// <summary>The accuracy and mean cross-entropy of one checkpoint on a split.</summary>
public sealed record CheckpointScore(string Checkpoint, double Accuracy, double Loss);

/// <summary>What a worker writes when a job fails for good: the orchestration sees the reason.</summary>
public sealed record FailureRecord(string JobId, string Reason, string Worker, DateTimeOffset FailedAt);
