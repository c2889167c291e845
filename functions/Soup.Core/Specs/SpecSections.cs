namespace Soup.Core.Specs;

/// <summary>
/// When a pipeline stops before its maximum of rounds, judged on the soup's accuracy on the primary split after each
/// round (the primary split must be <c>validation</c>: stopping on the test split would select on it).
/// </summary>
public sealed record StopSpec
{
    /// <summary>Stop when a round's soup beats the best earlier soup by less than this (accuracy, e.g. 0.002); null: no such rule.</summary>
    public double? MinImprovement { get; set; }

    /// <summary>Stop once a soup reaches this accuracy, in (0, 1]; null: no target.</summary>
    public double? Target { get; set; }
}

/// <summary>The linear-probe stage that makes the shared init: the head trained alone on the training data.</summary>
public sealed record LinearProbeSpec
{
    /// <summary>Steps of probing.</summary>
    public int Steps { get; set; } = 200;

    /// <summary>The probe's learning rate.</summary>
    public double LearningRate { get; set; } = 0.01;

    /// <summary>The probe's optimizer (null: the members' optimizer).</summary>
    public string? Optimizer { get; set; }
}

/// <summary>
/// One auxiliary fine-tuning of Model Ratatouille: the shared init fine-tuned on other data (other domains, or another
/// dataset with the same classes), whose weights round 1's members recycle as their initializations.
/// </summary>
public sealed record AuxiliarySpec
{
    /// <summary>A short name, unique in the spec (lower-case letters, digits, dashes); its slot is <c>init/aux-{name}</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>Its dataset (null: <c>data.dataset</c>).</summary>
    public string? Dataset { get; set; }

    /// <summary>Its dataset's layout (null: <c>data.layout</c>).</summary>
    public string? Layout { get; set; }

    /// <summary>Its domains (null: <c>data.trainDomains</c>).</summary>
    public IReadOnlyList<string>? Domains { get; set; }

    /// <summary>Its steps (null: <c>members.steps</c>).</summary>
    public int? Steps { get; set; }

    /// <summary>Its learning rate (null: the first of the members' learning rates).</summary>
    public double? LearningRate { get; set; }

    /// <summary>At most this many of its training examples (null: all).</summary>
    public int? Limit { get; set; }
}

/// <summary>Extra evaluation splits.</summary>
public sealed record EvaluationSpec
{
    /// <summary>Named splits evaluated after each round besides <c>validation</c> and <c>test</c>.</summary>
    public IReadOnlyList<SplitSpec>? Splits { get; set; }

    /// <summary>Completions sampled from every checkpoint of a round (language models only), scored by gold rewards and by their KL to the round's init.</summary>
    public GenerationSpec? Generation { get; set; }
}

/// <summary>
/// What a round's evaluation samples from its language models: one completion per prompt (the first tokens of the
/// primary split's documents), the same draws for every checkpoint; each scored by gold rewards and by the KL to the
/// round's init along the sampled sequences; a few completions kept for the report.
/// </summary>
public sealed record GenerationSpec
{
    /// <summary>How many prompts.</summary>
    public int Prompts { get; set; } = 32;

    /// <summary>Tokens of each prompt cut from the primary split's documents (not used with <see cref="Dataset"/>).</summary>
    public int PromptTokens { get; set; } = 8;

    /// <summary>
    /// A prompts file instead: a text dataset (folder or <c>blob:</c>) each of whose documents is one whole prompt, in
    /// order (null: prompts are cut from the primary split's documents).
    /// </summary>
    public string? Dataset { get; set; }

    /// <summary>The most tokens a completion gets.</summary>
    public int MaxNewTokens { get; set; } = 24;

    /// <summary>Sampling temperature (0: greedy).</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Top-k (0: every token).</summary>
    public int TopK { get; set; }

    /// <summary>Top-p, in (0, 1] (1: every token).</summary>
    public double TopP { get; set; } = 1.0;

    /// <summary>The gold rewards that score the completions (positivity, conciseness, lexical-diversity).</summary>
    public IReadOnlyList<string>? Rewards { get; set; }

    /// <summary>Completions kept per checkpoint for the report.</summary>
    public int Keep { get; set; } = 4;

    /// <summary>
    /// What the KL is measured to (<see cref="GenerationReferences"/>): <c>round-init</c>, each round's init (what that
    /// round's RL pays for), or <c>first-init</c>, round 1's init for every round (WARP's reward–KL front across
    /// iterations).
    /// </summary>
    public string KlTo { get; set; } = GenerationReferences.RoundInit;
}

/// <summary>The references a generation evaluation's KL can be measured to.</summary>
public static class GenerationReferences
{
    /// <summary>Each round's own init.</summary>
    public const string RoundInit = "round-init";

    /// <summary>Round 1's init, for every round.</summary>
    public const string FirstInit = "first-init";

    /// <summary>Every reference.</summary>
    public static IReadOnlyList<string> All { get; } = [RoundInit, FirstInit];
}

/// <summary>A named evaluation split: some part of some domains of a dataset.</summary>
public sealed record SplitSpec
{
    /// <summary>Its name in reports (lower-case letters, digits, dashes; not <c>validation</c> or <c>test</c>).</summary>
    public string Name { get; set; } = "";

    /// <summary>Its dataset (null: <c>data.dataset</c>).</summary>
    public string? Dataset { get; set; }

    /// <summary>Its layout (null: <c>data.layout</c>).</summary>
    public string? Layout { get; set; }

    /// <summary>Its domains (required for the <c>rotated</c> and <c>folders</c> layouts).</summary>
    public IReadOnlyList<string>? Domains { get; set; }

    /// <summary>
    /// Which examples: <c>out</c> (the held-out fraction: in-distribution when the domains are trained on), <c>in</c>
    /// (the rest, what members train on when it is the training dataset: e.g. the training pairs with clean labels, to
    /// measure how much label noise was memorised), <c>all</c>, or <c>test</c> (the test files of the <c>idx</c> layout).
    /// </summary>
    public string Part { get; set; } = "all";

    /// <summary>What it stands for in reports: <c>validation</c>, <c>test</c> or <c>objective</c> (rewarded soups).</summary>
    public string Role { get; set; } = "test";

    /// <summary>At most this many examples (null: all).</summary>
    public int? Limit { get; set; }
}

/// <summary>
/// A hyperparameter search space. Each dimension is a list of values or a range (uniform, or log-uniform with
/// <c>log</c>); member <c>m</c> draws every dimension from a generator seeded with the search seed and <c>m</c>, so the
/// same spec always gives the same members. With <c>sampling: grid</c>, every dimension must be a list and members take
/// the combinations in order.
/// </summary>
public sealed record SearchSpace
{
    /// <summary><c>random</c> (default) or <c>grid</c>.</summary>
    public string Sampling { get; set; } = "random";

    /// <summary>The seed of the draws (null: the spec's seed).</summary>
    public int? Seed { get; set; }

    /// <summary>The learning rate.</summary>
    public Distribution? LearningRate { get; set; }

    /// <summary>The weight decay.</summary>
    public Distribution? WeightDecay { get; set; }

    /// <summary>The dropout probability.</summary>
    public Distribution? Dropout { get; set; }

    /// <summary>The SGD momentum.</summary>
    public Distribution? Momentum { get; set; }

    /// <summary>The batch size (drawn values are rounded to integers).</summary>
    public Distribution? BatchSize { get; set; }

    /// <summary>The number of steps (drawn values are rounded to integers).</summary>
    public Distribution? Steps { get; set; }

    /// <summary>The optimizer, from a list.</summary>
    public IReadOnlyList<string>? Optimizer { get; set; }
}

/// <summary>One dimension of a search space: <c>values</c>, or <c>min</c> and <c>max</c> (and <c>log</c> for log-uniform).</summary>
public sealed record Distribution
{
    /// <summary>The values to choose from (uniformly).</summary>
    public IReadOnlyList<double>? Values { get; set; }

    /// <summary>The range's lower end.</summary>
    public double? Min { get; set; }

    /// <summary>The range's upper end.</summary>
    public double? Max { get; set; }

    /// <summary>Draw uniformly in log space (the range must be positive).</summary>
    public bool Log { get; set; }
}

/// <summary>One member's own settings; unset fields come from the search or from <c>members</c>.</summary>
public sealed record MemberSettings
{
    /// <summary>Its learning rate.</summary>
    public double? LearningRate { get; set; }

    /// <summary>Its weight decay.</summary>
    public double? WeightDecay { get; set; }

    /// <summary>Its dropout.</summary>
    public double? Dropout { get; set; }

    /// <summary>Its momentum.</summary>
    public double? Momentum { get; set; }

    /// <summary>Its batch size.</summary>
    public int? BatchSize { get; set; }

    /// <summary>Its steps.</summary>
    public int? Steps { get; set; }

    /// <summary>Its optimizer.</summary>
    public string? Optimizer { get; set; }

    /// <summary>Its seed (null: derived from the spec's seed, the round and the member).</summary>
    public int? Seed { get; set; }

    /// <summary>Its weight average (<c>none</c>, <c>ma</c>, <c>ema</c>).</summary>
    public string? Average { get; set; }

    /// <summary>The first step its moving average includes.</summary>
    public int? AverageStart { get; set; }

    /// <summary>Its WARP anchor weight.</summary>
    public double? AnchorWeight { get; set; }

    /// <summary>Its training domains (null: <c>data.trainDomains</c>): one objective of rewarded soups.</summary>
    public IReadOnlyList<string>? Domains { get; set; }

    /// <summary>Class weights of its loss, one per class (a reward standing in for a preference).</summary>
    public IReadOnlyList<double>? ClassWeights { get; set; }

    /// <summary>Its RL reward (with <c>members.rl</c>; null: <c>members.rl.rewards</c>): one member per reward makes rewarded soups.</summary>
    public IReadOnlyList<Jobs.RewardTerm>? Rewards { get; set; }

    /// <summary>The auxiliary fine-tuning whose weights it starts from in round 1 (null: round-robin, if any).</summary>
    public string? Auxiliary { get; set; }
}

/// <summary>
/// What a round makes of its members besides the merge: which soup it delivers (and the next round starts from), an
/// optional step back toward the init (WARP's LITI), and an interpolation curve scored each round. Every round also
/// reports the best single member (ERM), the merge of all members and the members' ensemble.
/// </summary>
public sealed record SoupSpec
{
    /// <summary>
    /// <c>all</c> (default): the merge of every landed member; <c>greedy</c>: members added in order of validation
    /// accuracy, each kept only if the soup's validation accuracy does not drop (greedy soups, DiWA restricted);
    /// <c>best</c>: the single member with the best validation accuracy (the ERM baseline: what a search keeps).
    /// </summary>
    public string Select { get; set; } = SoupSelections.All;

    /// <summary>Also make and score the greedy soup when it is not the one delivered (implied by <c>select: greedy</c>).</summary>
    public bool Greedy { get; set; }

    /// <summary>Whether the round makes the greedy soup.</summary>
    public bool MakesGreedy() => Greedy || Select == SoupSelections.Greedy;

    /// <summary>WARP's LITI: the merged soup is moved back toward the round's init, θ = init + η·(soup − init), η in [0, 1] (null: no step).</summary>
    public double? TowardInit { get; set; }

    /// <summary>
    /// More values of η (each in (0, 1), none equal to <see cref="TowardInit"/>) whose LITI models are made from the same
    /// merge and scored beside the delivered one every round: WARP's reward–KL front across η (the merge itself is
    /// η = 1). Null: none.
    /// </summary>
    public IReadOnlyList<double>? TowardInitSweep { get; set; }

    /// <summary>A linear path between two members scored every round (null: none).</summary>
    public InterpolationSpec? Interpolation { get; set; }
}

/// <summary>
/// The weights (1 − λ)·member <see cref="From"/> + λ·member <see cref="To"/> at <see cref="Points"/> evenly spaced λ
/// from 0 to 1, each evaluated on every split: the linear-connectivity curve of two members, or (rewarded soups) the
/// λ sweep between two objectives' members whose Pareto front the report shows.
/// </summary>
public sealed record InterpolationSpec
{
    /// <summary>The member at λ = 0.</summary>
    public int From { get; set; }

    /// <summary>The member at λ = 1.</summary>
    public int To { get; set; } = 1;

    /// <summary>How many λ values, ends included (3 to 101).</summary>
    public int Points { get; set; } = 5;

    /// <summary>
    /// The multi-objective RL baseline of rewarded soups (RL members only): for each λ in (0, 1), one more RL fine-tuning
    /// with member <see cref="From"/>'s settings on the reward (1 − λ)·R_from + λ·R_to, trained beside the members (not
    /// merged) and scored with the sweep, so that the soups' front can be compared with the MORL points. Null: none.
    /// </summary>
    public IReadOnlyList<double>? Morl { get; set; }
}

/// <summary>The soups a round can deliver.</summary>
public static class SoupSelections
{
    /// <summary>The merge of every landed member.</summary>
    public const string All = "all";

    /// <summary>The greedy soup.</summary>
    public const string Greedy = "greedy";

    /// <summary>The best single member on validation.</summary>
    public const string Best = "best";

    /// <summary>Every selection.</summary>
    public static IReadOnlyList<string> Every { get; } = [All, Greedy, Best];
}

/// <summary>The recipes a spec can name, each checked against the settings it needs.</summary>
public static class Recipes
{
    /// <summary>The best single member (no merging).</summary>
    public const string Erm = "erm";

    /// <summary>Diverse weight averaging: members of varied hyperparameters, all averaged.</summary>
    public const string Diwa = "diwa";

    /// <summary>Model soups: uniform and greedy.</summary>
    public const string Soups = "soups";

    /// <summary>Model Ratatouille: auxiliary fine-tunings recycled as the members' inits.</summary>
    public const string Ratatouille = "ratatouille";

    /// <summary>Rewarded soups: one fine-tuning per reward, interpolated.</summary>
    public const string Rewarded = "rewarded";

    /// <summary>WARP: EMA anchor, SLERP of policies, interpolation toward the init.</summary>
    public const string Warp = "warp";

    /// <summary>Iterated soups: each round's soup is the next round's init.</summary>
    public const string Iterations = "iterations";

    /// <summary>The members' ensemble, as a reference.</summary>
    public const string Ensemble = "ensemble";

    /// <summary>WARM: reward models from a shared init with diverse hyperparameters, trained on (noisy) preferences, uniformly averaged.</summary>
    public const string Warm = "warm";

    /// <summary>Every recipe name.</summary>
    public static IReadOnlyList<string> All { get; } = [Erm, Diwa, Soups, Ratatouille, Rewarded, Warp, Iterations, Ensemble, Warm];
}

/// <summary>
/// Preference pairs the pipeline makes itself before its reward models train (WARM's setting): prompts cut from the
/// held-out part of a text corpus (<c>data.validationFraction</c> of its documents), two completions of each, sampled
/// from a policy or taken from the corpus, labelled by a gold reward, and a fraction of the training labels flipped.
/// A pairs job of the workers writes them into the pipeline's folder (slot <c>init/pairs</c>), and the spec reads them
/// as the datasets <see cref="Jobs.PairDatasets"/> names: <c>data.dataset</c> must be <c>pairs:train</c>. The init stage
/// then pretrains a <b>language model</b> on the corpus's training part (unless <c>init.checkpoint</c> names one): it is
/// both the policy that samples and the reward models' shared backbone.
/// </summary>
public sealed record PreferencesSpec
{
    /// <summary>The text corpus (a folder under the workers' data root, or <c>blob:</c>) the prompts and continuations come from.</summary>
    public string Corpus { get; set; } = "";

    /// <summary>The corpus's files read (topics: e.g. fortune files), by relative path; null: every file.</summary>
    public IReadOnlyList<string>? Topics { get; set; }

    /// <summary><see cref="PairCompletions"/>: <c>policy</c> samples both completions, <c>corpus</c> pairs a document's real continuation with another document's.</summary>
    public string Completions { get; set; } = PairCompletions.Policy;

    /// <summary>The language model that samples (a checkpoint blob); null: the pipeline's init. Only with <c>policy</c> completions.</summary>
    public string? Policy { get; set; }

    /// <summary>The gold reward that labels each pair (the completion it scores higher is chosen).</summary>
    public string Reward { get; set; } = "";

    /// <summary>The share of training labels flipped (WARM's label noise), in [0, 0.5].</summary>
    public double Noise { get; set; } = 0.25;

    /// <summary>Training pairs (flipped labels; <c>pairs:train</c>, and with gold labels <c>pairs:clean</c>).</summary>
    public int TrainPairs { get; set; } = 1000;

    /// <summary>Test pairs from other prompts, gold labels (<c>pairs:test</c>, the split <c>test</c>).</summary>
    public int TestPairs { get; set; } = 250;

    /// <summary>Tokens of each prompt.</summary>
    public int PromptTokens { get; set; } = 8;

    /// <summary>Tokens of each completion at most.</summary>
    public int MaxNewTokens { get; set; } = 24;

    /// <summary>Sampling temperature of <c>policy</c> completions (0: greedy, which gives two equal completions).</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Top-k of <c>policy</c> completions (0: every token).</summary>
    public int TopK { get; set; }

    /// <summary>Top-p of <c>policy</c> completions, in (0, 1].</summary>
    public double TopP { get; set; } = 1.0;

    /// <summary>Test pairs whose prompts come from elsewhere (another corpus or other topics): the split <c>shifted</c>. Null: none.</summary>
    public ShiftedPromptsSpec? Shifted { get; set; }
}

/// <summary>Out-of-distribution test pairs: prompts (and, with corpus completions, continuations) from another corpus or other topics, gold labels.</summary>
public sealed record ShiftedPromptsSpec
{
    /// <summary>The corpus (null: <c>preferences.corpus</c>).</summary>
    public string? Corpus { get; set; }

    /// <summary>Its files read, by relative path (null: every file); with the same corpus, none of <c>preferences.topics</c>.</summary>
    public IReadOnlyList<string>? Topics { get; set; }

    /// <summary>How many pairs.</summary>
    public int Pairs { get; set; } = 250;
}

/// <summary>Where <see cref="PreferencesSpec"/>'s completions come from.</summary>
public static class PairCompletions
{
    /// <summary>Two samples of the policy per prompt (WARM's setting).</summary>
    public const string Policy = "policy";

    /// <summary>A document's real continuation against another document's (no model; English as people wrote it).</summary>
    public const string Corpus = "corpus";

    /// <summary>Every choice.</summary>
    public static IReadOnlyList<string> All { get; } = [Policy, Corpus];
}
