namespace Soup.Merging.Engine;

/// <summary>
/// A merge cannot run within <see cref="MergeEngineOptions.MemoryBudgetBytes"/> (thrown before anything is read or
/// written). Callers that take the budget from a setting catch it to name that setting.
/// </summary>
public sealed class MergeBudgetException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public MergeBudgetException(string message, string? paramName = null)
        : base(message, paramName)
    {
    }
}
