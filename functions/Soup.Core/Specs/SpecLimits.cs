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

    /// <summary>The models the workers can build.</summary>
    public static readonly IReadOnlyList<string> Models = ["cnn-small", "domainbed-mnist", "resnet18", "resnet50"];

    /// <summary>The splits an evaluation can use.</summary>
    public static readonly IReadOnlyList<string> EvalSplits = ["validation", "test"];
}
