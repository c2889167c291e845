using System.Globalization;
using System.Text;
using System.Text.Json;
using Soup.Training.Data;
using Soup.Training.FineTuning;

namespace Soup.Training.Text;

/// <summary>
/// The documents of a folder of text, read recursively in the ordinal order of the files' relative paths ('/'
/// separated), each file's documents in file order. What a file holds depends on its kind:
/// <list type="bullet">
/// <item><c>.txt</c>: split on lines that are exactly <c>%</c> if it has any (the fortune(6) format), else on blank lines (paragraphs);</item>
/// <item>a file without an extension beside a <c>&lt;name&gt;.dat</c> index (a fortune file, as in Debian's <c>fortunes</c> package under /usr/share/games/fortunes): split on <c>%</c> lines;</item>
/// <item><c>.jsonl</c>: the string field <c>text</c> of each non-blank line.</item>
/// </list>
/// Other files, hidden files and folders, and folders reached through symbolic links are not read. Documents are
/// trimmed and empty ones dropped; text is read as UTF-8.
/// </summary>
public sealed class TextCorpus
{
    /// <summary>The most bytes of text files <see cref="Read"/> takes unless told otherwise (256 MiB).</summary>
    public const long DefaultMaxBytes = 256L * 1024 * 1024;

    /// <summary>The field of a <c>.jsonl</c> line that holds its document.</summary>
    public const string JsonTextField = "text";

    private const string FortuneSeparator = "%";
    private const string FortuneIndexExtension = ".dat";

    private TextCorpus(string folder, IReadOnlyList<string> files, IReadOnlyList<string> documents)
    {
        Folder = folder;
        Files = files;
        Documents = documents;
    }

    /// <summary>The folder read (full path).</summary>
    public string Folder { get; }

    /// <summary>The files read, as paths relative to <see cref="Folder"/> with '/' separators, in reading order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The documents, in reading order.</summary>
    public IReadOnlyList<string> Documents { get; }

    /// <summary>Reads the corpus in <paramref name="folder"/>.</summary>
    /// <param name="folder">The folder, searched recursively.</param>
    /// <param name="maxBytes">The most bytes the corpus's files may hold together (a guard against pointing at the wrong folder).</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A <c>.jsonl</c> line is not an object with a string <c>text</c> field (the message names the file and the 1-based
    /// line), the files hold more than <paramref name="maxBytes"/>, or there are no documents (the message names the folder).
    /// </exception>
    public static TextCorpus Read(string folder, long maxBytes = DefaultMaxBytes) => Read(folder, null, maxBytes);

    /// <summary>Reads the files <paramref name="topics"/> names (paths relative to <paramref name="folder"/>, '/' separated) of the corpus; null: every file.</summary>
    /// <exception cref="InvalidDataException">A named file is not a text file of the corpus (the message names it and what there is), or as <see cref="Read(string, long)"/>.</exception>
    public static TextCorpus Read(string folder, IReadOnlyCollection<string>? topics, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        var root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Text corpus folder '{root}' does not exist.");

        var files = new List<(string Relative, string Path, DocumentFormat Format)>();
        Collect(new DirectoryInfo(root), "", files);
        files.Sort((a, b) => string.CompareOrdinal(a.Relative, b.Relative));
        if (topics is not null)
        {
            var present = files.Select(f => f.Relative).ToHashSet(StringComparer.Ordinal);
            if (topics.FirstOrDefault(t => !present.Contains(t)) is { } missing)
            {
                var some = string.Join(", ", files.Take(12).Select(f => f.Relative)) + (files.Count > 12 ? ", …" : "");
                throw new InvalidDataException($"Text corpus folder '{root}' has no text file '{missing}' (topics name files by their path in the folder; there are: {some}).");
            }

            files.RemoveAll(f => !topics.Contains(f.Relative));
        }

        var total = 0L;
        var documents = new List<string>();
        foreach (var (_, path, format) in files)
        {
            total += new FileInfo(path).Length;
            if (total > maxBytes)
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"Text corpus folder '{root}' holds more than {maxBytes} bytes of text (the limit; reached at '{path}'). Point at a smaller folder or raise the limit."));
            var text = File.ReadAllText(path, Encoding.UTF8);
            var parts = format switch
            {
                DocumentFormat.Fortunes => SplitOnSeparators(text),
                DocumentFormat.Text => HasSeparators(text) ? SplitOnSeparators(text) : SplitOnBlankLines(text),
                _ => JsonLinesTexts(text, path),
            };
            documents.AddRange(parts.Select(part => part.Trim()).Where(part => part.Length > 0));
        }

        if (documents.Count == 0)
            throw new InvalidDataException(
                $"Text corpus folder '{root}' holds no documents: no non-empty .txt, .jsonl or fortune files (a file without extension beside its .dat index) in it or below it.");
        return new TextCorpus(root, [.. files.Select(file => file.Relative)], documents);
    }

    /// <summary>
    /// Splits the documents into training and held-out ones: the first round(n × <paramref name="heldOutFraction"/>)
    /// (half away from zero) of a permutation seeded with <paramref name="seed"/> are held out. Both lists keep the
    /// corpus's order, and the same seed and corpus give the same split every time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="heldOutFraction"/> is outside [0, 1].</exception>
    public TextCorpusSplit Split(double heldOutFraction, int seed)
    {
        if (!(heldOutFraction >= 0 && heldOutFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(heldOutFraction), heldOutFraction, "The held-out fraction must be in [0, 1].");
        var heldOut = HeldOut.Mask(Documents.Count, heldOutFraction, seed);
        return new TextCorpusSplit(
            [.. Documents.Where((_, i) => !heldOut[i])],
            [.. Documents.Where((_, i) => heldOut[i])]);
    }

    private static void Collect(DirectoryInfo directory, string relative, List<(string, string, DocumentFormat)> files)
    {
        var options = new EnumerationOptions { AttributesToSkip = FileAttributes.Hidden | FileAttributes.System };
        foreach (var file in directory.EnumerateFiles("*", options))
        {
            if (FormatOf(file) is { } format)
                files.Add((relative + file.Name, file.FullName, format));
        }

        foreach (var child in directory.EnumerateDirectories("*", options))
        {
            // A linked folder could lead back up the tree; the corpus is what lies in the folder itself.
            if (child.LinkTarget is null)
                Collect(child, relative + child.Name + "/", files);
        }
    }

    private static DocumentFormat? FormatOf(FileInfo file)
    {
        var extension = file.Extension;
        if (extension.Equals(".txt", StringComparison.OrdinalIgnoreCase))
            return DocumentFormat.Text;
        if (extension.Equals(".jsonl", StringComparison.OrdinalIgnoreCase))
            return DocumentFormat.JsonLines;
        if (extension.Length == 0 && File.Exists(file.FullName + FortuneIndexExtension))
            return DocumentFormat.Fortunes;
        return null;
    }

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").Split('\n');

    private static bool HasSeparators(string text) => Lines(text).Any(line => line == FortuneSeparator);

    private static List<string> SplitOnSeparators(string text) => SplitLines(text, line => line == FortuneSeparator);

    private static List<string> SplitOnBlankLines(string text) => SplitLines(text, string.IsNullOrWhiteSpace);

    private static List<string> SplitLines(string text, Func<string, bool> isBoundary)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        foreach (var line in Lines(text))
        {
            if (isBoundary(line))
            {
                parts.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(line).Append('\n');
            }
        }

        parts.Add(current.ToString());
        return parts;
    }

    private static List<string> JsonLinesTexts(string text, string path)
    {
        var texts = new List<string>();
        var lines = Lines(text);
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
                continue;
            var lineNumber = i + 1;
            try
            {
                using var document = JsonDocument.Parse(lines[i]);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{path} line {lineNumber}: expected a JSON object, found {root.ValueKind}.");
                if (!root.TryGetProperty(JsonTextField, out var value))
                    throw new InvalidDataException($"{path} line {lineNumber}: field '{JsonTextField}' is missing.");
                texts.Add(value.ValueKind == JsonValueKind.String
                    ? value.GetString()!
                    : throw new InvalidDataException($"{path} line {lineNumber}: field '{JsonTextField}' is {value.ValueKind}, not a string."));
            }
            catch (JsonException error)
            {
                throw new InvalidDataException($"{path} line {lineNumber}: not valid JSON ({error.Message})", error);
            }
        }

        return texts;
    }

    private enum DocumentFormat
    {
        Text,
        Fortunes,
        JsonLines,
    }
}
