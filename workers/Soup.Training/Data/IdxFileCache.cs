using System.Collections.Concurrent;

namespace Soup.Training.Data;

/// <summary>
/// Decoded IDX files shared by every member trained in this process, keyed by full path (and re-read when the file's
/// length or last write time changes). A failed read is not cached.
/// </summary>
internal static class IdxFileCache
{
    private static readonly ConcurrentDictionary<string, Entry<IdxImages>> ImageFiles = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Entry<ReadOnlyMemory<byte>>> LabelFiles = new(StringComparer.Ordinal);

    public static IdxImages Images(string path) => Get(ImageFiles, path, IdxReader.ReadImages);

    public static ReadOnlyMemory<byte> Labels(string path) => Get(LabelFiles, path, IdxReader.ReadLabels);

    private static T Get<T>(ConcurrentDictionary<string, Entry<T>> cache, string path, Func<string, T> read)
    {
        var fullPath = Path.GetFullPath(path);
        var info = new FileInfo(fullPath);
        var stamp = (info.Length, info.LastWriteTimeUtc);
        var entry = cache.AddOrUpdate(
            fullPath,
            _ => new Entry<T>(stamp, new Lazy<T>(() => read(fullPath))),
            (_, old) => old.Stamp == stamp ? old : new Entry<T>(stamp, new Lazy<T>(() => read(fullPath))));
        try
        {
            return entry.Value.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Entry<T>>(fullPath, entry));
            throw;
        }
    }

    private sealed record Entry<T>((long Length, DateTime LastWrite) Stamp, Lazy<T> Value);
}
