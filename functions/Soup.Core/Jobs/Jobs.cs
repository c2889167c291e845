using System.Text.Json.Serialization;
using Soup.Merging;

namespace Soup.Core.Jobs;

/// <summary>
/// A unit of work for the workers, sent through the jobs queue. Its id is deterministic (<c>{pipelineId}/{slot}</c>)
/// and its output goes to the slot's folder (see <see cref="Storage.CheckpointLayout"/>).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(TrainJob), "train")]
[JsonDerivedType(typeof(EvaluateJob), "evaluate")]
[JsonDerivedType(typeof(JobReference), "ref")]
[JsonDerivedType(typeof(PairsJob), "pairs")]
public abstract record Job
{
    /// <summary>The pipeline (orchestration instance) the job belongs to.</summary>
    public required string PipelineId { get; init; }

    /// <summary>The job's folder under the pipeline.</summary>
    public required string Slot { get; init; }

    /// <summary>The network (a model name the workers know: cnn-small, domainbed-mnist, resnet18, resnet50).</summary>
    public required string Model { get; init; }

    /// <summary>A hash of the pipeline spec the job comes from, recorded in the checkpoint's metadata (may be empty).</summary>
    public string SpecHash { get; set; } = "";

    /// <summary>
    /// Deliveries of this job that ended without an outcome (a crash, an error) before the worker that re-queued it
    /// (a preemption hands the job back as a fresh message, which must not reset the count, nor add to it). A worker
    /// records the job as failed once these plus the current message's deliveries exceed its limit.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int PriorDeliveries { get; init; }

    /// <summary>
    /// The orchestration's bound on this job's silence (its stage sends a job again once its heartbeat is this old): a
    /// worker given a copy treats another copy as alive only while that copy's heartbeat is younger, so a re-dispatch
    /// of a dead job runs and one of a live job does not. Null: the worker's own setting.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TimeSpan? HeartbeatTimeout { get; init; }

    /// <summary>The deterministic job id.</summary>
    [JsonIgnore]
    public string JobId => $"{PipelineId}/{Slot}";
}

/// <summary>Train (or fine-tune) one model and write its checkpoint.</summary>
public sealed record TrainJob : Job
{
    /// <summary>The data the job trains on.</summary>
    public required DataRef Data { get; init; }

    /// <summary>The checkpoint blob to start from; null starts from a random init seeded by the settings.</summary>
    public string? InitCheckpoint { get; init; }

    /// <summary>The optimization settings.</summary>
    public required TrainSettings Settings { get; init; }

    /// <summary>The reward models <see cref="TrainSettings.Rl"/>'s rewards name (each with its model); null: none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<RewardModel>? RewardModels { get; init; }
}

/// <summary>
/// The queue message of a job too large for one message (a queue message holds 64 KB; an evaluation of hundreds of
/// checkpoints does not fit): the job itself is stored at <see cref="JobBlob"/> (<c>{pipelineId}/{slot}/job.json</c>) and
/// the worker reads it from there. It carries the job's pipeline and slot so that cancellation, poison and failure
/// handling work before the blob is read.
/// </summary>
public sealed record JobReference : Job
{
    /// <summary>The blob in the checkpoints container that holds the job's JSON.</summary>
    public required string JobBlob { get; init; }
}

/// <summary>
/// Evaluate checkpoints on named splits and write an <see cref="EvaluationReport"/>: every checkpoint's accuracy and
/// loss on every split, and optionally the ensemble and diversity of a set of members and the midpoint connectivity of
/// pairs.
/// </summary>
public sealed record EvaluateJob : Job
{
    /// <summary>The checkpoint blobs to evaluate, in report order.</summary>
    public required IReadOnlyList<string> Checkpoints { get; init; }

    /// <summary>The splits, each under the name the report uses; the first is the pipeline's primary split.</summary>
    public required IReadOnlyList<EvaluationSplit> Splits { get; init; }

    /// <summary>
    /// Indices into <see cref="Checkpoints"/> of the members whose prediction ensemble and pairwise diversity are measured
    /// (at least 2 to mean anything); null or empty: none.
    /// </summary>
    public IReadOnlyList<int>? Ensemble { get; set; }

    /// <summary>Pairs of indices into <see cref="Checkpoints"/> whose weight midpoint is evaluated; null or empty: none.</summary>
    public IReadOnlyList<CheckpointPair>? Connectivity { get; set; }

    /// <summary>
    /// The greedy soup to build from the members this job scores (null: none). The worker builds and scores its
    /// candidates in memory, writes the soup it keeps to <see cref="Storage.CheckpointLayout.GreedySoupBlob"/>, and
    /// reports it in <see cref="EvaluationReport.Greedy"/>: one job instead of a merge and an evaluation per member.
    /// </summary>
    public GreedySoupPlan? Greedy { get; set; }

    /// <summary>
    /// Completions to sample from some of the checkpoints (language models only), scored by gold rewards and by their KL
    /// to a reference; reported in <see cref="EvaluationReport.Generation"/>. Null: none.
    /// </summary>
    public GenerationPlan? Generation { get; set; }
}

/// <summary>
/// What an evaluation job samples: one completion per prompt from each of <see cref="Checkpoints"/> (the same draws for
/// each: the generator is seeded with <see cref="Seed"/> for every checkpoint), the prompts being the first
/// <see cref="PromptTokens"/> tokens of the first <see cref="PromptCount"/> documents of <see cref="Prompts"/> long
/// enough to give one, or those documents whole (<see cref="WholeDocuments"/>).
/// </summary>
public sealed record GenerationPlan
{
    /// <summary>Indices into <see cref="EvaluateJob.Checkpoints"/> of the language models to sample from.</summary>
    public required IReadOnlyList<int> Checkpoints { get; init; }

    /// <summary>The text the prompts are cut from (held-out documents).</summary>
    public required DataRef Prompts { get; init; }

    /// <summary>How many prompts.</summary>
    public int PromptCount { get; init; } = 32;

    /// <summary>Tokens of each prompt.</summary>
    public int PromptTokens { get; init; } = 8;

    /// <summary>Each document is a whole prompt (a prompts file), not cut to <see cref="PromptTokens"/>.</summary>
    public bool WholeDocuments { get; init; }

    /// <summary>The most tokens a completion gets.</summary>
    public int MaxNewTokens { get; init; } = 24;

    /// <summary>Sampling temperature (0: greedy).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Top-k (0: all tokens).</summary>
    public int TopK { get; init; }

    /// <summary>Top-p (1: all tokens).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>The rewards that score each completion, by name: gold rewards (<see cref="GoldRewardNames"/>) or <see cref="RewardModels"/>.</summary>
    public required IReadOnlyList<string> Rewards { get; init; }

    /// <summary>The reward models <see cref="Rewards"/> names (each with its model); null: none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<RewardModel>? RewardModels { get; init; }

    /// <summary>The checkpoint blob the KL is measured to (the round's init); null: no KL.</summary>
    public string? Reference { get; init; }

    /// <summary>Completions kept in the report per checkpoint (the first prompts').</summary>
    public int Keep { get; init; } = 4;

    /// <summary>Seeds the draws.</summary>
    public int Seed { get; init; }
}

/// <summary>
/// The names of the gold rewards the workers compute (pure functions of a text's words; see <c>GoldRewards</c> in the
/// worker): the one list specs are checked against.
/// </summary>
public static class GoldRewardNames
{
    /// <summary>(positive − negative words) / words.</summary>
    public const string Positivity = "positivity";

    /// <summary>Closeness of the word count to 20.</summary>
    public const string Conciseness = "conciseness";

    /// <summary>Distinct words / words.</summary>
    public const string LexicalDiversity = "lexical-diversity";

    /// <summary>Every name, in a fixed order (besides them: <c>conciseness-N</c>, see <see cref="IsKnown"/>).</summary>
    public static IReadOnlyList<string> All { get; } = [Positivity, Conciseness, LexicalDiversity];

    /// <summary>The longest word target <c>conciseness-N</c> takes.</summary>
    public const int MaxConcisenessTarget = 1000;

    /// <summary>
    /// Whether <paramref name="name"/> is a gold reward: one of <see cref="All"/>, or <c>conciseness-N</c> (closeness of
    /// the word count to N, 1 ≤ N ≤ <see cref="MaxConcisenessTarget"/>, written without leading zeros; N = 20 is
    /// <c>conciseness</c>, under that name only).
    /// </summary>
    public static bool IsKnown(string? name) => name is not null && (All.Contains(name) || ConcisenessTarget(name) is not null);

    /// <summary>N of a <c>conciseness-N</c> name; null for any other name.</summary>
    public static int? ConcisenessTarget(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        const string prefix = Conciseness + "-";
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var digits = name[prefix.Length..];
        return digits.Length is >= 1 and <= 4 && digits[0] != '0' && digits.All(char.IsAsciiDigit)
            && int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture) is var n and <= MaxConcisenessTarget and not 20 ? n : null; // 20: 'conciseness' itself
    }

    /// <summary>How messages name the <c>conciseness-N</c> family.</summary>
    public const string ConcisenessFamily = "conciseness-N (N target words)";

    /// <summary>The known names, for messages.</summary>
    public static string Describe() => string.Join(", ", All) + ", " + ConcisenessFamily;
}

/// <summary>
/// How an evaluation job builds the greedy soup (Wortsman et al., 2022): the members ranked by their accuracy on
/// <see cref="Split"/> (the lower index first on a tie), the best alone first, each next one kept only if the soup with
/// it scores at least as well there.
/// </summary>
/// <param name="Members">Indices into <see cref="EvaluateJob.Checkpoints"/> of the members to choose from, in member order.</param>
/// <param name="Split">The split the choice is made on (the validation split; never the test split).</param>
/// <param name="Merge">How candidates are merged: <c>linear</c> (a running mean: each member read once) or a task-vector
/// method (each candidate merged from its members' blobs); per-member weights do not apply.</param>
/// <param name="Base">The base checkpoint of task-vector methods (the round's init); null for <c>linear</c>.</param>
/// <param name="Metadata">The soup's <c>__metadata__</c> (the worker adds the members it kept).</param>
public sealed record GreedySoupPlan(
    IReadOnlyList<int> Members, string Split, Soup.Merging.MergeParameters Merge, string? Base = null, IReadOnlyDictionary<string, string>? Metadata = null);

/// <summary>What a greedy soup kept: its checkpoint and members, and each candidate tried.</summary>
/// <param name="Checkpoint">The soup's blob; the best member's own when no other member was kept.</param>
/// <param name="Members">The kept members' checkpoints, best first.</param>
/// <param name="Trials">Each member tried after the first, in order: the candidate's accuracy on the plan's split and whether it was kept.</param>
public sealed record GreedySoupOutcome(string Checkpoint, IReadOnlyList<string> Members, IReadOnlyList<GreedyTrial> Trials);


/// <summary>The tasks a spec can name (<c>task</c>); the data's layout makes the task, and a named one must agree with it.</summary>
public static class Tasks
{
    /// <summary>Image classification (the <c>idx</c>, <c>rotated</c> and <c>folders</c> layouts).</summary>
    public const string Classification = "classification";

    /// <summary>Language modelling (the <c>text</c> layout).</summary>
    public const string LanguageModelling = "language-modelling";

    /// <summary>Reward modelling (the <c>preferences</c> layout).</summary>
    public const string RewardModelling = "reward-modelling";

    /// <summary>Every task.</summary>
    public static IReadOnlyList<string> All { get; } = [Classification, LanguageModelling, RewardModelling];
}

/// <summary>Where a dataset's files are laid out and how they are read.</summary>
public static class DataLayouts
{
    /// <summary>MNIST-style IDX files (train-/t10k- images-idx3-ubyte and labels-idx1-ubyte, optionally .gz); no domains.</summary>
    public const string Idx = "idx";

    /// <summary>
    /// IDX files cut into DomainBed-style rotated domains "0", "15", "30", "45", "60", "75" (degrees): each domain a
    /// disjoint slice of the train and t10k images, rotated by its angle.
    /// </summary>
    public const string Rotated = "rotated";

    /// <summary>Image folders <c>root/&lt;domain&gt;/&lt;class&gt;/*.jpg|png</c> (PACS, VLCS, OfficeHome, TerraIncognita, DomainNet).</summary>
    public const string Folders = "folders";

    /// <summary>
    /// A text corpus for language modelling: a folder of <c>.txt</c> files (fortune files split on <c>%</c> lines, others
    /// on blank lines), <c>.jsonl</c> files with a <c>text</c> field, or fortune files beside their <c>.dat</c>.
    /// </summary>
    public const string Text = "text";

    /// <summary>Preference pairs for reward modelling: a folder of <c>.jsonl</c> files of <c>prompt</c>, <c>chosen</c>, <c>rejected</c>.</summary>
    public const string Preferences = "preferences";

    /// <summary>Every layout.</summary>
    public static IReadOnlyList<string> All { get; } = [Idx, Rotated, Folders, Text, Preferences];

    /// <summary>Whether the layout has domains (rotated angles, image folders); the others are one pool of examples.</summary>
    public static bool HasDomains(string layout) => layout is Rotated or Folders;

    /// <summary>Whether the layout holds text for GPT-2 models (language or reward modelling) rather than images.</summary>
    public static bool IsText(string layout) => layout is Text or Preferences;

    /// <summary>
    /// The task a layout makes (what its models are and how they are scored), in words: image classification, language
    /// modelling (next-token accuracy and loss) or reward modelling (pairwise accuracy). A split scores only models of its task.
    /// </summary>
    public static string Task(string layout) => TaskName(layout) switch
    {
        Tasks.LanguageModelling => "language modelling",
        Tasks.RewardModelling => "reward modelling",
        _ => "image classification",
    };

    /// <summary>The task a layout makes, as a spec names it (<see cref="Tasks"/>).</summary>
    public static string TaskName(string layout) => layout switch
    {
        Text => Tasks.LanguageModelling,
        Preferences => Tasks.RewardModelling,
        _ => Tasks.Classification,
    };

    /// <summary>The domains of the <see cref="Rotated"/> layout, in order: rotations in degrees.</summary>
    public static IReadOnlyList<string> RotatedDomains { get; } = ["0", "15", "30", "45", "60", "75"];
}

/// <summary>Which part of each selected domain (or of an IDX dataset) a job reads.</summary>
public static class DataParts
{
    /// <summary>The training part: everything but the held-out fraction (for IDX, of the train files).</summary>
    public const string In = "in";

    /// <summary>The held-out part, <see cref="DataRef.HoldoutFraction"/> of the examples: the validation split.</summary>
    public const string Out = "out";

    /// <summary>In and out together: a whole domain (for IDX, the whole train files).</summary>
    public const string All = "all";

    /// <summary>IDX only: the t10k files.</summary>
    public const string Test = "test";

    /// <summary>Every part.</summary>
    public static IReadOnlyList<string> Every { get; } = [In, Out, All, Test];
}

/// <summary>
/// The data a job reads: a dataset, its layout, the domains and the part of them. The split into in/out is a
/// permutation seeded with <see cref="SplitSeed"/>, so every job of a pipeline sees the same split.
/// </summary>
public sealed record DataRef
{
    /// <summary>
    /// The dataset: a folder name under the worker's data root (e.g. <c>fashion-mnist</c>), or
    /// <c>blob:&lt;container&gt;/&lt;prefix&gt;</c> for files in blob storage, downloaded once and cached by the worker.
    /// </summary>
    public required string Dataset { get; init; }

    /// <summary>A name from <see cref="DataLayouts"/>.</summary>
    public string Layout { get; set; } = DataLayouts.Idx;

    /// <summary>The domains read (rotated and folder layouts; must not be empty there); for the text layout, the files of the corpus read (null: all); null for IDX.</summary>
    public IReadOnlyList<string>? Domains { get; set; }

    /// <summary>A name from <see cref="DataParts"/>.</summary>
    public string Part { get; set; } = DataParts.In;

    /// <summary>At most this many examples per domain (the first ones of the permuted part); null: all.</summary>
    public int? Limit { get; set; }

    /// <summary>The held-out fraction of each domain (of the train files for IDX), in [0, 1).</summary>
    public double HoldoutFraction { get; set; } = 0.2;

    /// <summary>Seeds the in/out permutation (and, for rotated data, the cut into domains).</summary>
    public int SplitSeed { get; set; }

    /// <summary>
    /// The version of a <c>blob:</c> dataset the job must read (a <c>DatasetFingerprint</c>: a scheduled run pins the
    /// version it recorded); a worker that finds another fails the job naming both. Null: whatever is there.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Version { get; set; }
}

/// <summary>The optimizers a training job may use.</summary>
public static class Optimizers
{
    /// <summary>SGD with (heavy-ball) momentum and L2 weight decay.</summary>
    public const string Sgd = "sgd";

    /// <summary>Adam with L2 weight decay.</summary>
    public const string Adam = "adam";

    /// <summary>AdamW (decoupled weight decay).</summary>
    public const string AdamW = "adamw";

    /// <summary>Every optimizer.</summary>
    public static IReadOnlyList<string> All { get; } = [Sgd, Adam, AdamW];
}

/// <summary>Which weights a training job writes as its checkpoint.</summary>
public static class WeightAverages
{
    /// <summary>The weights after the last step.</summary>
    public const string None = "none";

    /// <summary>DiWA's moving average: the uniform mean of the weights after each step from <see cref="TrainSettings.AverageStart"/> on.</summary>
    public const string MovingAverage = "ma";

    /// <summary>The exponential moving average of the weights, with <see cref="TrainSettings.EmaDecay"/>.</summary>
    public const string Ema = "ema";

    /// <summary>Every choice.</summary>
    public static IReadOnlyList<string> All { get; } = [None, MovingAverage, Ema];
}

/// <summary>The settings of one training job.</summary>
public sealed record TrainSettings
{
    /// <summary>A name from <see cref="Optimizers"/>.</summary>
    public string Optimizer { get; set; } = Optimizers.Sgd;

    /// <summary>Optimizer steps; at least 1.</summary>
    public int Steps { get; set; } = 100;

    /// <summary>Examples per step; at least 1 and at most the training data's size.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>The learning rate; positive.</summary>
    public double LearningRate { get; set; } = 0.01;

    /// <summary>SGD momentum in [0, 1) (Adam and AdamW use their default betas).</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Weight decay; not negative (L2 for SGD and Adam, decoupled for AdamW).</summary>
    public double WeightDecay { get; set; }

    /// <summary>Dropout probability before the classifier head, in [0, 1).</summary>
    public double Dropout { get; set; }

    /// <summary>Seeds the initialisation (when no init checkpoint is given), the batch order, augmentation and dropout.</summary>
    public int Seed { get; set; }

    /// <summary>Train the classifier head only, the featurizer frozen (a linear probe, as DiWA and Ratatouille make their init).</summary>
    public bool LinearProbe { get; set; }

    /// <summary>A name from <see cref="WeightAverages"/>: which weights the job writes.</summary>
    public string Average { get; set; } = WeightAverages.None;

    /// <summary>The first step (1-based) whose weights the moving average includes.</summary>
    public int AverageStart { get; set; } = 1;

    /// <summary>The decay of the exponential moving average (used by <c>ema</c> and by the anchor), in (0, 1).</summary>
    public double EmaDecay { get; set; } = 0.99;

    /// <summary>
    /// WARP's anchor: the weight of KL(model ‖ EMA of the model) added to the loss; 0 turns the anchor off.
    /// </summary>
    public double AnchorWeight { get; set; }

    /// <summary>Per-class weights of the cross-entropy (one per class), or null for uniform: a classification stand-in for a reward.</summary>
    public IReadOnlyList<double>? ClassWeights { get; set; }

    /// <summary>Steps between resumption checkpoints; 0 lets the worker choose.</summary>
    public int CheckpointEvery { get; set; }

    /// <summary>
    /// Reinforcement learning instead of supervised training (language models only): the member is the init policy
    /// fine-tuned with RLOO against <see cref="RlTraining.Rewards"/>, its prompts cut from the job's text data, for
    /// <see cref="Steps"/> steps of AdamW at <see cref="LearningRate"/>. Null: supervised training.
    /// </summary>
    public RlTraining? Rl { get; set; }
}

/// <summary>How a member is fine-tuned by reinforcement learning (RLOO; see the worker's <c>Rloo</c>).</summary>
public sealed record RlTraining
{
    /// <summary>The reward: a weighted sum of gold rewards and reward models (one term with weight 1: that reward).</summary>
    public IReadOnlyList<RewardTerm>? Rewards { get; set; }

    /// <summary>
    /// Rewards measured on every step's completions but not optimised (gold rewards or reward models; null: none): e.g.
    /// the gold reward a reward model was trained on, whose course against the optimised reward shows reward hacking.
    /// </summary>
    public IReadOnlyList<string>? Track { get; set; }

    /// <summary>Every reward this training names: its terms', then the tracked ones (what its job needs loaded).</summary>
    public IEnumerable<string> RewardNames() => [.. (Rewards ?? []).Select(t => t.Reward), .. Track ?? []];

    /// <summary>Completions per prompt, k ≥ 2 (each one's baseline is the mean of the other k − 1).</summary>
    public int Samples { get; set; } = 4;

    /// <summary>β: the reward is r − β·KL(policy ‖ anchor).</summary>
    public double KlCoefficient { get; set; } = 0.05;

    /// <summary>WARP's anchor: an exponential moving average of the policy with this decay, in [0, 1); null: the anchor is the init.</summary>
    public double? AnchorDecay { get; set; }

    /// <summary>Prompts per step.</summary>
    public int PromptsPerStep { get; set; } = 8;

    /// <summary>Tokens of each prompt (the first of each document of the job's data).</summary>
    public int PromptTokens { get; set; } = 8;

    /// <summary>The most tokens a completion gets.</summary>
    public int MaxNewTokens { get; set; } = 24;
}

/// <summary>One term of a reward: a gold reward (<see cref="GoldRewardNames"/>) or a reward model, by name, and its weight.</summary>
public sealed record RewardTerm
{
    /// <summary>The reward's name: a gold reward or a reward model the spec declares.</summary>
    public string Reward { get; set; } = "";

    /// <summary>Its weight (finite; may be negative).</summary>
    public double Weight { get; set; } = 1;
}

/// <summary>
/// A reward model used as a reward: a checkpoint of a GPT-2 reward model (a scalar head, <c>score.weight</c>; e.g. one
/// member or the WARM soup of a <c>warm</c> pipeline) that scores prompt + completion, under a name that rewards refer to.
/// </summary>
public sealed record RewardModel
{
    /// <summary>The name rewards refer to it by (lower-case letters, digits, dashes; not a gold reward's).</summary>
    public string Name { get; set; } = "";

    /// <summary>Its checkpoint: a blob name in the checkpoints container.</summary>
    public string Checkpoint { get; set; } = "";

    /// <summary>Its size (a text model, e.g. <c>gpt2-tiny</c>); null: the pipeline's model.</summary>
    public string? Model { get; set; }
}

/// <summary>A split an evaluation job scores, under a name (e.g. <c>env0_out</c>, <c>test</c>).</summary>
public sealed record EvaluationSplit(string Name, DataRef Data);

/// <summary>Two checkpoints, by index into the job's list.</summary>
public sealed record CheckpointPair(int A, int B);

/// <summary>The report an evaluation job writes.</summary>
public sealed record EvaluationReport
{
    /// <summary>The splits, in the job's order, with their sizes.</summary>
    public required IReadOnlyList<SplitSize> Splits { get; init; }

    /// <summary>One score per checkpoint and split: checkpoint-major, in the job's orders.</summary>
    public required IReadOnlyList<CheckpointScore> Scores { get; init; }

    /// <summary>The prediction ensemble of the job's <see cref="EvaluateJob.Ensemble"/> members, per split; empty when none.</summary>
    public IReadOnlyList<SplitScore> Ensemble { get; init; } = [];

    /// <summary>The members' mean pairwise diversity, per split; empty when no ensemble was asked for.</summary>
    public IReadOnlyList<DiversityScore> Diversity { get; init; } = [];

    /// <summary>The midpoint check of each pair, per split; empty when none was asked for.</summary>
    public IReadOnlyList<ConnectivityScore> Connectivity { get; init; } = [];

    /// <summary>The greedy soup the job built (<see cref="EvaluateJob.Greedy"/>); its scores are among <see cref="Scores"/>.</summary>
    public GreedySoupOutcome? Greedy { get; init; }

    /// <summary>What each checkpoint of <see cref="EvaluateJob.Generation"/> generated, in the plan's order; empty when none.</summary>
    public IReadOnlyList<GenerationScore> Generation { get; init; } = [];

    /// <summary>The name of the first (primary) split.</summary>
    [JsonIgnore]
    public string PrimarySplit => Splits.Count > 0 ? Splits[0].Name : "";
}

/// <summary>What one language model generated for the plan's prompts.</summary>
/// <param name="Checkpoint">The checkpoint blob.</param>
/// <param name="Rewards">Each gold reward's mean over the completions, in the plan's order.</param>
/// <param name="KlToReference">
/// The mean over completions of Σ over their tokens of KL(model ‖ reference) at that position (nats): the exact
/// per-token KL summed along the sampled sequences; null without a reference.
/// </param>
/// <param name="MeanTokens">Mean completion length in tokens.</param>
/// <param name="Samples">The first completions, with their rewards.</param>
/// <param name="TruncatedPrompts">Prompts cut from the left to leave room for the completion in the model's context.</param>
/// <param name="Training">How the checkpoint's RL fine-tuning went (from its metadata); null when it was not one.</param>
/// <param name="Reference">The checkpoint <paramref name="KlToReference"/> is measured to; null in older results (the round's init).</param>
public sealed record GenerationScore(
    string Checkpoint, IReadOnlyList<RewardScore> Rewards, double? KlToReference, double MeanTokens, IReadOnlyList<GeneratedSample> Samples, int TruncatedPrompts = 0,
    RlCurve? Training = null, string? Reference = null);

/// <summary>
/// The course of an RL fine-tuning: the optimised reward, the KL to the anchor and each tracked reward (measured on the
/// same completions, not optimised) over the steps, at most <see cref="MaxPoints"/> points (each the mean of a window of
/// consecutive steps, at the window's last step). Proxy reward up while the tracked gold reward falls is reward hacking.
/// </summary>
/// <param name="Reward">The optimised reward's name.</param>
/// <param name="Tracked">The tracked rewards' names, in each point's order.</param>
/// <param name="Points">The points, steps ascending.</param>
public sealed record RlCurve(string Reward, IReadOnlyList<string> Tracked, IReadOnlyList<RlCurvePoint> Points)
{
    /// <summary>The most points a curve keeps (the metadata of a checkpoint carries it).</summary>
    public const int MaxPoints = 100;

    /// <summary>The checkpoint metadata key that holds an RL fine-tuning's curve (JSON).</summary>
    public const string MetadataKey = "rl_curve";

    /// <summary>The position of tracked reward <paramref name="name"/> in each point's <see cref="RlCurvePoint.Tracked"/>; −1 when not tracked.</summary>
    public int TrackedIndex(string name) => Tracked.ToList().IndexOf(name);

    /// <summary>The first point where tracked reward <paramref name="tracked"/> (an index) is highest.</summary>
    public RlCurvePoint Peak(int tracked) => Points.MaxBy(p => p.Tracked[tracked]) ?? throw new InvalidOperationException("The curve has no points.");

    /// <summary>
    /// The curve of <paramref name="steps"/> (one point per step, steps ascending) in at most <paramref name="maxPoints"/>
    /// points: windows of ⌈steps / maxPoints⌉ consecutive steps, each averaged, at its last step.
    /// </summary>
    public static RlCurve Of(string reward, IReadOnlyList<string> tracked, IReadOnlyList<RlCurvePoint> steps, int maxPoints = MaxPoints)
    {
        ArgumentNullException.ThrowIfNull(tracked);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        var window = Math.Max(1, (steps.Count + maxPoints - 1) / maxPoints);
        var points = steps.Chunk(window).Select(w => new RlCurvePoint(
            w[^1].Step, w.Average(p => p.Reward), w.Average(p => p.Kl), [.. tracked.Select((_, t) => w.Average(p => p.Tracked[t]))])).ToList();
        return new RlCurve(reward, tracked, points);
    }
}

/// <summary>One point of an <see cref="RlCurve"/>: the mean reward, KL to the anchor and tracked rewards of the steps it stands for.</summary>
public sealed record RlCurvePoint(int Step, double Reward, double Kl, IReadOnlyList<double> Tracked);

/// <summary>A gold reward's mean over completions.</summary>
public sealed record RewardScore(string Reward, double Mean);

/// <summary>One prompt and the completion sampled for it, with each gold reward of the completion in the plan's order.</summary>
public sealed record GeneratedSample(string Prompt, string Completion, IReadOnlyList<double> Rewards);

/// <summary>A split's name and example count, and how many of its examples were cut from the left to fit the model's context.</summary>
public sealed record SplitSize(string Name, int Count, int Truncated = 0);

/// <summary>The accuracy and mean cross-entropy of one checkpoint on a split.</summary>
public sealed record CheckpointScore(string Checkpoint, string Split, double Accuracy, double Loss);

/// <summary>The accuracy and mean cross-entropy of a prediction ensemble (mean of softmax outputs) on a split.</summary>
public sealed record SplitScore(string Split, int Members, double Accuracy, double Loss);

/// <summary>
/// Diversity of the ensemble members on a split, averaged over every pair: the disagreement rate (share of examples
/// the two predict differently) and DiWA's ratio-error (see <c>DiversityMetrics</c> in the worker for the definition).
/// </summary>
public sealed record DiversityScore(string Split, int Pairs, double Disagreement, double RatioError);

/// <summary>
/// Linear connectivity of a pair on a split: the accuracy of their weight midpoint against the mean of their accuracies
/// (<see cref="Gap"/> = endpoint mean − midpoint; near zero or negative when the two are linearly connected).
/// </summary>
public sealed record ConnectivityScore(string Split, int A, int B, double MidpointAccuracy, double MidpointLoss, double EndpointMeanAccuracy, double Gap);

/// <summary>
/// What a job reports while it runs, written (overwritten) at the slot's <c>progress.json</c> so the orchestration
/// and the user can see it. It is also the job's heartbeat: the worker rewrites it at least every heartbeat interval
/// while the job runs (training or not), and the blob's Last-Modified is what the orchestration calls "alive".
/// </summary>
/// <param name="JobId">The job.</param>
/// <param name="Step">The last step done (0 before training, and for evaluations).</param>
/// <param name="TotalSteps">The steps the job trains for (0 for evaluations).</param>
/// <param name="Loss">The last training loss.</param>
/// <param name="PerSecond">Throughput so far, in <paramref name="Unit"/> per second.</param>
/// <param name="Worker">The worker running it.</param>
/// <param name="UpdatedAt">When the worker wrote it.</param>
/// <param name="State">
/// <see cref="JobStates.Running"/> while a worker holds the job; <see cref="JobStates.Released"/> once a worker handed it
/// back (shutdown, preemption), so the next delivery need not wait for this one's heartbeat to go stale.
/// </param>
/// <param name="MessageId">The queue message of the delivery that wrote it: a second message for the same job (a
/// re-dispatch) sees that another copy is alive, and a redelivery of the same message (the holder crashed) sees that
/// it is its own.</param>
/// <param name="Unit">What the throughput counts: images, or tokens for text models.</param>
public sealed record JobProgress(
    string JobId, int Step, int TotalSteps, double Loss, double PerSecond, string Worker, DateTimeOffset UpdatedAt,
    string State = JobStates.Running, string? MessageId = null, string Unit = "images")
{
    /// <summary>RL fine-tunings: the last step's mean reward; null otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Reward { get; init; }

    /// <summary>RL fine-tunings: the last step's mean KL to the anchor; null otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Kl { get; init; }
}

/// <summary>The states of a <see cref="JobProgress"/>.</summary>
public static class JobStates
{
    /// <summary>A worker holds the job and writes its heartbeat.</summary>
    public const string Running = "running";

    /// <summary>The worker handed the job back (shutdown, preemption); it resumes from its resumption checkpoint.</summary>
    public const string Released = "released";
}

/// <summary>What a worker writes when a job fails for good: the orchestration sees the reason.</summary>
public sealed record FailureRecord(string JobId, string Reason, string Worker, DateTimeOffset FailedAt);
