namespace Soup.Core.Specs;

/// <summary>The explicit limits of a version-1 spec (documented in README).</summary>
public static class SpecLimits
{
    /// <summary>Most members in one round.</summary>
    public const int MaxMembers = 256;

    /// <summary>Most rounds in one pipeline.</summary>
    public const int MaxRounds = 50;

    /// <summary>Most training steps of one member or of pretraining.</summary>
    public const int MaxSteps = 1_000_000;

    /// <summary>Largest batch.</summary>
    public const int MaxBatchSize = 4096;

    /// <summary>Most re-dispatches of a job that has not landed by its deadline.</summary>
    public const int MaxRetries = 10;

    /// <summary>Shortest and longest round timeout.</summary>
    public static readonly TimeSpan MinRoundTimeout = TimeSpan.FromMinutes(1);

    /// <inheritdoc cref="MinRoundTimeout"/>
    public static readonly TimeSpan MaxRoundTimeout = TimeSpan.FromDays(7);

    /// <summary>Longest overall bound on a stage.</summary>
    public static readonly TimeSpan MaxStageDeadline = TimeSpan.FromDays(30);

    /// <summary>Most attempts of an activity.</summary>
    public const int MaxActivityAttempts = 20;

    /// <summary>Shortest and longest wait between two attempts of an activity.</summary>
    public static readonly TimeSpan MinRetryInterval = TimeSpan.FromSeconds(1);

    /// <inheritdoc cref="MinRetryInterval"/>
    public static readonly TimeSpan MaxRetryInterval = TimeSpan.FromHours(1);

    /// <summary>Most domains in any list of domains.</summary>
    public const int MaxDomains = 64;

    /// <summary>Most extra evaluation splits.</summary>
    public const int MaxSplits = 16;

    /// <summary>Most auxiliary fine-tunings.</summary>
    public const int MaxAuxiliary = 16;

    /// <summary>Most values of a search dimension (and optimizers to choose from).</summary>
    public const int MaxChoices = 64;

    /// <summary>Most gold rewards a generation evaluation scores.</summary>
    public const int MaxRewards = 8;

    /// <summary>Most prompts a generation evaluation samples.</summary>
    public const int MaxPrompts = 512;

    /// <summary>Most preference pairs a pipeline makes of each kind (training, test, shifted).</summary>
    public const int MaxGeneratedPairs = 1_000_000;

    /// <summary>Most new tokens per completion, and most prompt tokens.</summary>
    public const int MaxGenerationTokens = 1024;

    /// <summary>Most MORL baselines of a rewards sweep (<c>soup.interpolation.morl</c>).</summary>
    public const int MaxMorl = 19;

    /// <summary>Most completions kept per checkpoint.</summary>
    public const int MaxKeptSamples = 64;

    /// <summary>Most classes (class weights of a member).</summary>
    public const int MaxClasses = 1000;

    /// <summary>
    /// The most items of each list a spec can hold, by the declaring type's name and the list's JSON name: every list has
    /// one (the validator checks them all before anything else, and the schema states them as <c>maxItems</c>), so no
    /// accepted spec holds an unbounded list. Null: not a list of the spec.
    /// </summary>
    public static int? MaxItems(string declaringType, string property) => (declaringType, property) switch
    {
        ("PipelineSpec", "auxiliary") => MaxAuxiliary,
        ("DataSpec", "trainDomains" or "testDomains") or ("AuxiliarySpec" or "SplitSpec" or "MemberSettings", "domains") => MaxDomains,
        ("PreferencesSpec" or "ShiftedPromptsSpec", "topics") => MaxDomains,
        ("EvaluationSpec", "splits") => MaxSplits,
        ("MembersSpec", "learningRates" or "explicit") or ("MergeParameters", "weights" or "densities") => MaxMembers,
        ("SearchSpace", "optimizer") or ("Distribution", "values") => MaxChoices,
        ("MemberSettings", "classWeights") => MaxClasses,
        ("InterpolationSpec", "morl") or ("SoupSpec", "towardInitSweep") => MaxMorl,
        ("GenerationSpec", "rewards") or ("RlTraining" or "MemberSettings", "rewards") or ("RlTraining", "track") or ("PipelineSpec", "rewardModels") => MaxRewards,
        _ => null,
    };

    /// <summary>The image classifiers the workers can build.</summary>
    public static readonly IReadOnlyList<string> ImageModels = ["cnn-small", "domainbed-mnist", "resnet18", "resnet50"];

    /// <summary>The GPT-2 sizes the workers can build (language models, or reward models on preference data).</summary>
    public static readonly IReadOnlyList<string> TextModels = ["gpt2-tiny", "distilgpt2", "gpt2"];

    /// <summary>The context (tokens) of each of <see cref="TextModels"/>, as the workers build them.</summary>
    public static int? TextContext(string model) => model switch
    {
        "gpt2-tiny" => 128,
        "distilgpt2" or "gpt2" => 1024,
        _ => null,
    };

    /// <summary>The models the workers can build.</summary>
    public static readonly IReadOnlyList<string> Models = [.. ImageModels, .. TextModels];

    /// <summary>The splits an evaluation can use.</summary>
    public static readonly IReadOnlyList<string> EvalSplits = ["validation", "test"];
}
