using Soup.Core.Merging;

namespace Soup.Core.Specs;

/// <summary>
/// A soup pipeline, as submitted by a user (JSON, version 1): the data, a shared init, the members of each round,
/// how they are merged and how many rounds run. Every round's soup becomes the next round's init.
/// </summary>
public sealed record PipelineSpec
{
    /// <summary>The spec format version; only 1 exists.</summary>
    public int Version { get; set; } = 1;

    /// <summary>A short name: lower-case letters, digits and dashes; it prefixes the pipeline id.</summary>
    public string Name { get; set; } = "";

    /// <summary>The root of every seed the pipeline derives (member seeds, data splits).</summary>
    public int Seed { get; set; }

    /// <summary>How many rounds of fan-out, merge and evaluation run.</summary>
    public int Rounds { get; set; } = 1;

    /// <summary>The network every member trains (the workers' model name, e.g. <c>cnn-small</c>).</summary>
    public string Model { get; set; } = "cnn-small";

    /// <summary>Where the data comes from and how it is split.</summary>
    public DataSpec Data { get; set; } = new();

    /// <summary>The shared initialization of the first round.</summary>
    public InitSpec Init { get; set; } = new();

    /// <summary>The fine-tunings of each round.</summary>
    public MembersSpec Members { get; set; } = new();

    /// <summary>How members are merged into the soup (the names of <c>pipeline merge</c>); the round's init is the base.</summary>
    public MergeParameters Merge { get; set; } = new();

    /// <summary>
    /// How long one dispatch of a stage's jobs may take (the per-attempt deadline): then the container is checked for
    /// landings whose notification was lost, and jobs still missing are sent again (<see cref="MembersSpec.Retries"/>).
    /// </summary>
    public TimeSpan RoundTimeout { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary>The data: a dataset name the workers resolve under their data root, and its splits.</summary>
public sealed record DataSpec
{
    /// <summary>The dataset folder name under the workers' <c>DataRoot</c> (IDX files), e.g. <c>fashion-mnist</c>.</summary>
    public string Dataset { get; set; } = "fashion-mnist";

    /// <summary>At most this many training examples are used (null: all).</summary>
    public int? TrainLimit { get; set; }

    /// <summary>The fraction of the training files held out as the validation split.</summary>
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>The split the soup and members are evaluated on: <c>validation</c> or <c>test</c>.</summary>
    public string EvalSplit { get; set; } = "test";

    /// <summary>At most this many evaluation examples are used (null: all).</summary>
    public int? EvalLimit { get; set; }
}

/// <summary>
/// The shared init of round 1: an existing checkpoint blob, or a model the workers pretrain from a seeded random
/// initialization for <see cref="PretrainSteps"/> steps (0: the random initialization itself).
/// </summary>
public sealed record InitSpec
{
    /// <summary>A checkpoint blob name in the checkpoints container; when set, no pretraining runs.</summary>
    public string? Checkpoint { get; set; }

    /// <summary>Steps of pretraining when no checkpoint is given.</summary>
    public int PretrainSteps { get; set; } = 200;

    /// <summary>The pretraining learning rate.</summary>
    public double LearningRate { get; set; } = 0.05;
}

/// <summary>The fine-tunings of a round; member <c>i</c> takes <c>LearningRates[i mod n]</c>.</summary>
public sealed record MembersSpec
{
    /// <summary>How many members each round fine-tunes.</summary>
    public int Count { get; set; } = 4;

    /// <summary>SGD steps per member.</summary>
    public int Steps { get; set; } = 200;

    /// <summary>Examples per step.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Learning rates cycled over members: the diversity of the soup.</summary>
    public IReadOnlyList<double> LearningRates { get; set; } = [0.01, 0.02, 0.05, 0.1];

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>L2 weight decay.</summary>
    public double WeightDecay { get; set; }

    /// <summary>The optimizer of every member: <c>sgd</c>, <c>adam</c> or <c>adamw</c> (null: sgd).</summary>
    public string? Optimizer { get; set; }

    /// <summary>Dropout probability before the classifier head, in [0, 1) (null: none).</summary>
    public double? Dropout { get; set; }

    /// <summary>
    /// Which weights a member delivers: <c>none</c> (the last), <c>ma</c> (DiWA's moving average from
    /// <see cref="AverageStart"/>) or <c>ema</c> (null: none).
    /// </summary>
    public string? Average { get; set; }

    /// <summary>The first step the moving average includes, in [1, steps] (null: 1).</summary>
    public int? AverageStart { get; set; }

    /// <summary>
    /// The fewest landed members a round merges (null: every member, <see cref="Count"/>). A round whose members are
    /// still missing when their retries are spent, or have failed, goes on with the landed ones if at least this many
    /// landed, and fails otherwise.
    /// </summary>
    public int? Quorum { get; set; }

    /// <summary>
    /// How many times a job that has not landed by its deadline is sent again (same job id, so a job that did finish
    /// writes nothing twice); null: <see cref="DefaultRetries"/>.
    /// </summary>
    public int? Retries { get; set; }

    /// <summary>Re-dispatches of a missing job when the spec does not say.</summary>
    public const int DefaultRetries = 1;

    /// <summary>The quorum in effect: <see cref="Quorum"/>, or every member.</summary>
    public int EffectiveQuorum() => Quorum ?? Count;

    /// <summary>The re-dispatches in effect: <see cref="Retries"/>, or <see cref="DefaultRetries"/>.</summary>
    public int EffectiveRetries() => Retries ?? DefaultRetries;
}
