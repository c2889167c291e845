namespace Soup.Merging;

/// <summary>Rules for blob names that users may write in a spec.</summary>
public static class BlobPath
{
    /// <summary>True for a relative blob name with no empty, '.' or '..' segments and no backslashes.</summary>
    public static bool IsSafeRelativeName(string name) =>
        name.Length is > 0 and <= 1024
        && !name.Contains('\\', StringComparison.Ordinal)
        && name.Split('/').All(s => s.Length > 0 && s != "." && s != "..");
}
