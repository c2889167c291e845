using Soup.Merging;

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

    /// <summary>The recipe the spec follows (<see cref="Recipes"/>), checked against the settings it needs; null: none named.</summary>
    public string? Recipe { get; set; }

    /// <summary>
    /// The task (<see cref="Jobs.Tasks"/>: classification, language-modelling, reward-modelling), checked against the
    /// data's layout, which makes it; null: the layout's.
    /// </summary>
    public string? Task { get; set; }

    /// <summary>How many rounds of fan-out, merge and evaluation run at most (see <see cref="Stop"/>).</summary>
    public int Rounds { get; set; } = 1;

    /// <summary>When to stop before <see cref="Rounds"/> rounds (null: run them all).</summary>
    public StopSpec? Stop { get; set; }

    /// <summary>The network every member trains (the workers' model name, e.g. <c>cnn-small</c>).</summary>
    public string Model { get; set; } = "cnn-small";

    /// <summary>Where the data comes from and how it is split.</summary>
    public DataSpec Data { get; set; } = new();

    /// <summary>The shared initialization of the first round.</summary>
    public InitSpec Init { get; set; } = new();

    /// <summary>
    /// Auxiliary fine-tunings (Model Ratatouille): each fine-tunes the shared init on its own data before round 1, and
    /// round 1's members start from them, round-robin (null or empty: every member starts from the shared init).
    /// </summary>
    public IReadOnlyList<AuxiliarySpec>? Auxiliary { get; set; }

    /// <summary>
    /// Preference pairs the pipeline makes before its reward models train (reward modelling only; null: the pairs are a
    /// dataset). See <see cref="PreferencesSpec"/>.
    /// </summary>
    public PreferencesSpec? Preferences { get; set; }

    /// <summary>The fine-tunings of each round.</summary>
    public MembersSpec Members { get; set; } = new();

    /// <summary>How members are merged into the soup (the names of <c>pipeline merge</c>); the round's init is the base.</summary>
    public MergeParameters Merge { get; set; } = new();

    /// <summary>Which soup each round delivers, and what else it scores (null: the merge of all members).</summary>
    public SoupSpec? Soup { get; set; }

    /// <summary>Extra evaluation splits, besides <c>validation</c> and <c>test</c> (null: none).</summary>
    public EvaluationSpec? Evaluation { get; set; }

    /// <summary>
    /// Reward-model checkpoints that rewards can name besides the gold rewards (RL members' <c>rewards</c>, the
    /// generation evaluation's <c>rewards</c>): e.g. the WARM soup of an earlier <c>warm</c> pipeline. Null: none.
    /// </summary>
    public IReadOnlyList<Jobs.RewardModel>? RewardModels { get; set; }

    /// <summary>
    /// The bound on a job's silence: a stage looks at its jobs this often, and a job that has neither landed nor written a
    /// heartbeat (its <c>progress.json</c>, rewritten by the worker every few seconds while it runs) for this long is
    /// sent again (<see cref="MembersSpec.Retries"/>); a job that reports progress is waited for, however long it trains.
    /// </summary>
    public TimeSpan RoundTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>An overall bound on each stage, however alive its jobs (null: none): then the stage goes on with what landed,
    /// if the quorum allows, or fails.</summary>
    public TimeSpan? StageDeadline { get; set; }

    /// <summary>How the orchestration retries a failed activity (a storage blip in a dispatch, a merge, a read); null:
    /// <see cref="RetrySpec"/>'s defaults.</summary>
    public RetrySpec? Retry { get; set; }
}

/// <summary>
/// Bounded exponential retry of the orchestration's activities: the wait starts at <see cref="FirstInterval"/> and doubles
/// up to <see cref="MaxInterval"/>, for at most <see cref="MaxAttempts"/> attempts in all. A pipeline failure (a quorum
/// that cannot be met) is never retried.
/// </summary>
public sealed record RetrySpec
{
    /// <summary>Attempts in all, the first included.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait before the first retry.</summary>
    public TimeSpan FirstInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// The data: a dataset the workers resolve, its layout, the domains members train on and those held out for testing.
/// Two splits always exist for evaluation: <c>validation</c> (the held-out fraction of the training domains, the
/// in-distribution split models are selected on) and, when there is test data, <c>test</c> (the test domains, or the
/// dataset's test files for the <c>idx</c> layout).
/// </summary>
public sealed record DataSpec
{
    /// <summary>
    /// The dataset: a folder name under the workers' <c>DataRoot</c>, e.g. <c>fashion-mnist</c>, or
    /// <c>blob:&lt;container&gt;/&lt;prefix&gt;</c> for a dataset in Blob Storage.
    /// </summary>
    public string Dataset { get; set; } = "fashion-mnist";

    /// <summary>How the dataset's files are read: <c>idx</c>, <c>rotated</c> (DomainBed's rotated domains) or <c>folders</c>.</summary>
    public string Layout { get; set; } = "idx";

    /// <summary>The domains members train on (required for the <c>rotated</c> and <c>folders</c> layouts; none for <c>idx</c>).</summary>
    public IReadOnlyList<string>? TrainDomains { get; set; }

    /// <summary>The held-out domains of the <c>test</c> split (all their examples); none for <c>idx</c>, which tests on its test files.</summary>
    public IReadOnlyList<string>? TestDomains { get; set; }

    /// <summary>At most this many training examples are used (null: all).</summary>
    public int? TrainLimit { get; set; }

    /// <summary>The fraction of the training files held out as the validation split.</summary>
    public double ValidationFraction { get; set; } = 0.2;

    /// <summary>
    /// The primary split: the soup and members are ranked on it, and the best round is chosen on it when it is
    /// <c>validation</c>: <c>validation</c>, <c>test</c> or the name of a split of <see cref="PipelineSpec.Evaluation"/>.
    /// Every split is evaluated and reported.
    /// </summary>
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

    /// <summary>
    /// A linear-probe stage after the checkpoint or the pretraining: the head alone is trained on the training data,
    /// featurizer frozen, and the result is the shared init (as DiWA and Ratatouille do). Null: no probe.
    /// </summary>
    public LinearProbeSpec? LinearProbe { get; set; }
}

/// <summary>
/// The fine-tunings of a round. Each member's settings are, in order of precedence: its entry of <see cref="Explicit"/>,
/// its draw from <see cref="Search"/>, then the fields here (learning rates cycled over members).
/// </summary>
public sealed record MembersSpec
{
    /// <summary>Learning rates cycled over members when neither a search nor explicit settings give one.</summary>
    public static readonly IReadOnlyList<double> DefaultLearningRates = [0.01, 0.02, 0.05, 0.1];

    /// <summary>How many members each round fine-tunes.</summary>
    public int Count { get; set; } = 4;

    /// <summary>SGD steps per member.</summary>
    public int Steps { get; set; } = 200;

    /// <summary>Examples per step.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>
    /// Learning rates cycled over members (null: <see cref="DefaultLearningRates"/>); not together with a
    /// <c>search.learningRate</c>.
    /// </summary>
    public IReadOnlyList<double>? LearningRates { get; set; }

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

    /// <summary>The decay of the exponential moving average (<c>average: ema</c>) and of the WARP anchor, in (0, 1) (null: 0.99).</summary>
    public double? EmaDecay { get; set; }

    /// <summary>WARP's anchor: the weight of a KL term toward an EMA of the member's own predictions, ≥ 0 (null: 0, none).</summary>
    public double? AnchorWeight { get; set; }

    /// <summary>
    /// Fine-tune every member by reinforcement learning (RLOO against gold rewards, KL to an anchor) instead of
    /// supervised training: language models (<c>layout: text</c>) from an init policy; null: supervised.
    /// </summary>
    public Jobs.RlTraining? Rl { get; set; }

    /// <summary>A hyperparameter search space each member draws from (null: none).</summary>
    public SearchSpace? Search { get; set; }

    /// <summary>Settings of each member, one entry per member (null: none); they win over the search and the fields here.</summary>
    public IReadOnlyList<MemberSettings>? Explicit { get; set; }

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

    /// <summary>The learning rates in effect: <see cref="LearningRates"/>, or <see cref="DefaultLearningRates"/>.</summary>
    public IReadOnlyList<double> EffectiveLearningRates() => LearningRates is { Count: > 0 } rates ? rates : DefaultLearningRates;
}
