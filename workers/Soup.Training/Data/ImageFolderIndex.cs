namespace Soup.Training.Data;

/// <summary>
/// The files of an image-folder dataset, <c>root/&lt;domain&gt;/&lt;class&gt;/…/*.jpg|jpeg|png</c>: the domains are
/// the top-level folders and the classes the sorted (ordinal) union of the class folders of every domain, so a class
/// has the same index whichever domains a job reads.
/// </summary>
internal sealed class ImageFolderIndex
{
    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png"];

    private readonly string[] _classes;

    private ImageFolderIndex(string root, string[] domains, string[] classes)
    {
        Root = root;
        Domains = domains;
        this._classes = classes;
    }

    /// <summary>The dataset folder, full path.</summary>
    public string Root { get; }

    /// <summary>The domains, sorted ordinally.</summary>
    public IReadOnlyList<string> Domains { get; }

    /// <summary>The classes of every domain, sorted ordinally; a label is an index into this list.</summary>
    public IReadOnlyList<string> Classes => _classes;

    /// <summary>Lists the domains and classes of <paramref name="root"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no domain folders.</exception>
    public static ImageFolderIndex Scan(string root)
    {
        var full = Path.GetFullPath(root);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"Data folder '{full}' does not exist; an image-folder dataset is laid out as <root>/<domain>/<class>/*.jpg|png.");
        var domains = SortedFolderNames(full);
        if (domains.Length == 0)
            throw new InvalidDataException($"Data folder '{full}' holds no domain folders; an image-folder dataset is laid out as <root>/<domain>/<class>/*.jpg|png.");
        var classes = domains.SelectMany(d => SortedFolderNames(Path.Combine(full, d))).Distinct().Order(StringComparer.Ordinal).ToArray();
        return new ImageFolderIndex(full, domains, classes);
    }

    /// <summary>The image files of a domain with their class indices, sorted by path (ordinal).</summary>
    public IReadOnlyList<(string File, int Label)> Files(string domain)
    {
        var folder = Path.Combine(Root, domain);
        var files = new List<(string File, int Label)>();
        foreach (var className in SortedFolderNames(folder))
        {
            var label = Array.BinarySearch(_classes, className, StringComparer.Ordinal);
            var images = Directory.EnumerateFiles(Path.Combine(folder, className), "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal);
            files.AddRange(images.Select(f => (f, label)));
        }
        return files;
    }

    private static string[] SortedFolderNames(string folder) => Directory.EnumerateDirectories(folder)
        .Select(Path.GetFileName)
        .OfType<string>()
        .Where(name => !name.StartsWith('.'))
        .Order(StringComparer.Ordinal)
        .ToArray();
}
