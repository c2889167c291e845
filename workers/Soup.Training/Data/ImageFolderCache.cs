using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Soup.Training.Data;

/// <summary>
/// Decoded image-folder domains shared by every job of this process, keyed by folder, domain and image size, and
/// decoded again when the domain's files change (their number, total length or latest write time). A failed decode is
/// not cached.
/// </summary>
internal static class ImageFolderCache
{
    private static readonly ConcurrentDictionary<string, Entry> Cache = new(StringComparer.Ordinal);

    /// <summary>The domain's images, decoded in parallel on first use.</summary>
    /// <exception cref="InvalidDataException">An image cannot be decoded; the message names the file.</exception>
    public static ImageFolderDomain Get(ImageFolderIndex index, string domain, int size)
    {
        var files = index.Files(domain);
        var infos = files.Select(f => new FileInfo(f.File)).ToArray();
        var stamp = (infos.Length, infos.Sum(i => i.Length), infos.Length == 0 ? 0 : infos.Max(i => i.LastWriteTimeUtc.Ticks));
        var key = $"{index.Root}|{domain}|{size}";
        var entry = Cache.AddOrUpdate(
            key,
            _ => new Entry(stamp, new Lazy<ImageFolderDomain>(() => Decode(files, size))),
            (_, old) => old.Stamp == stamp ? old : new Entry(stamp, new Lazy<ImageFolderDomain>(() => Decode(files, size))));
        try
        {
            return entry.Domain.Value;
        }
        catch
        {
            Cache.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            throw;
        }
    }

    private static ImageFolderDomain Decode(IReadOnlyList<(string File, int Label)> files, int size)
    {
        var pixels = new byte[files.Count][];
        try
        {
            Parallel.For(0, files.Count, i => pixels[i] = ImageDecoder.Decode(files[i].File, size));
        }
        catch (AggregateException e)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return new ImageFolderDomain(size, pixels, files.Select(f => (long)f.Label).ToArray());
    }

    private sealed record Entry((int Count, long Length, long LastWrite) Stamp, Lazy<ImageFolderDomain> Domain);
}
