using Soup.Merging.Engine;

namespace Soup.Orchestration;

/// <summary>
/// Settings of the merge activity, read from the root of the configuration (app settings, local.settings.json,
/// environment) in the Functions app and the local engine.
/// </summary>
public sealed class MergeOptions
{
    /// <summary>
    /// The most memory (MiB) one merge's buffers may hold, whatever the number of members (default 256: fits a 2 GB Flex
    /// Consumption instance beside the host). The members' read-ahead shrinks to fit as their number grows, so fewer
    /// MiB per member means more, smaller ranged reads; raise it on larger instances. A merge whose inputs cannot fit
    /// fails before reading anything, naming this setting.
    /// </summary>
    public int MergeMemoryBudgetMiB { get; set; } = (int)(MergeEngineOptions.DefaultMemoryBudgetBytes >> 20);

    /// <summary>The largest budget accepted (1 TiB).</summary>
    public const int MaxMergeMemoryBudgetMiB = 1 << 20;

    /// <summary>The budget in bytes.</summary>
    public long MemoryBudgetBytes => (long)MergeMemoryBudgetMiB << 20;
}
