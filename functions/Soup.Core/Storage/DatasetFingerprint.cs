using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Soup.Core.Storage;

/// <summary>
/// The version of a dataset in Blob Storage: a SHA-256 over every blob's name, ETag and size under its prefix, so any
/// added, removed or rewritten file gives another version. Scheduled runs record it; workers key their cache on it and
/// stamp it into the checkpoints they train.
/// </summary>
public static class DatasetFingerprint
{
    /// <summary><c>sha256:</c> and 16 hex digits over the sorted entries.</summary>
    public static string Of(IEnumerable<(string Name, string ETag, long Size)> blobs)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var lines = blobs.Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Name}\t{b.ETag}\t{b.Size}")).ToList();
        lines.Sort(StringComparer.Ordinal);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines))))[..16];
    }
}
