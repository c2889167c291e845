using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Soup.Training.Text;

/// <summary>
/// Preference pairs in JSON Lines: one object per line with the string fields <c>prompt</c>, <c>chosen</c> and
/// <c>rejected</c> (other fields are ignored, blank lines skipped), UTF-8.
/// </summary>
public static class PreferencePairs
{
    /// <summary>The field of the prompt.</summary>
    public const string PromptField = "prompt";

    /// <summary>The field of the preferred completion.</summary>
    public const string ChosenField = "chosen";

    /// <summary>The field of the other completion.</summary>
    public const string RejectedField = "rejected";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Text stays readable in the file: only what JSON requires is escaped, not non-ASCII letters or HTML characters.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>The pairs of the JSON Lines file at <paramref name="path"/>, in file order.</summary>
    /// <exception cref="InvalidDataException">
    /// A line is not a JSON object, a field is missing or not a string, <c>chosen</c> or <c>rejected</c> is empty (the
    /// message names the file, the 1-based line and the problem), or the file holds no pairs.
    /// </exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static IReadOnlyList<PreferencePair> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var pairs = new List<PreferencePair>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNumber++;
            if (!string.IsNullOrWhiteSpace(line))
                pairs.Add(Parse(line, path, lineNumber));
        }

        if (pairs.Count == 0)
            throw new InvalidDataException($"{path}: no preference pairs; the file is empty or holds only blank lines.");
        return pairs;
    }

    /// <summary>
    /// Writes <paramref name="pairs"/> to <paramref name="path"/> (replacing it): one compact object per line, each line
    /// ended by '\n', UTF-8 without a byte-order mark.
    /// </summary>
    /// <exception cref="ArgumentException">A pair has a null field or an empty <c>chosen</c> or <c>rejected</c> (named by its index), so could not be read back.</exception>
    public static void Write(string path, IEnumerable<PreferencePair> pairs)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(pairs);
        var list = Checked(pairs);
        using var stream = File.Create(path);
        Write(stream, list);
    }

    /// <summary>Writes <paramref name="pairs"/> to <paramref name="stream"/> as <see cref="Write(string, IEnumerable{PreferencePair})"/> writes a file.</summary>
    /// <exception cref="ArgumentException">A pair could not be read back (named by its index).</exception>
    public static void Write(Stream stream, IEnumerable<PreferencePair> pairs)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(pairs);
        var list = Checked(pairs);
        using var writer = new Utf8JsonWriter(stream, WriterOptions);
        foreach (var pair in list)
        {
            writer.WriteStartObject();
            writer.WriteString(PromptField, pair.Prompt);
            writer.WriteString(ChosenField, pair.Chosen);
            writer.WriteString(RejectedField, pair.Rejected);
            writer.WriteEndObject();
            writer.Flush();
            writer.Reset();
            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>The JSON Lines text <see cref="Write(Stream, IEnumerable{PreferencePair})"/> writes, as a string.</summary>
    /// <exception cref="ArgumentException">A pair could not be read back (named by its index).</exception>
    public static string ToText(IEnumerable<PreferencePair> pairs)
    {
        using var buffer = new MemoryStream();
        Write(buffer, pairs);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static List<PreferencePair> Checked(IEnumerable<PreferencePair> pairs)
    {
        var list = pairs.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (Problem(list[i]) is { } problem)
                throw new ArgumentException($"Preference pair {i}: {problem}", nameof(pairs));
        }

        return list;
    }

    private static PreferencePair Parse(string line, string path, int lineNumber)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{path} line {lineNumber}: not valid JSON ({error.Message})", error);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path} line {lineNumber}: expected a JSON object, found {root.ValueKind}.");
            var pair = new PreferencePair(
                Field(root, PromptField, path, lineNumber),
                Field(root, ChosenField, path, lineNumber),
                Field(root, RejectedField, path, lineNumber));
            return Problem(pair) is { } problem ? throw new InvalidDataException($"{path} line {lineNumber}: {problem}") : pair;
        }
    }

    private static string Field(JsonElement root, string name, string path, int lineNumber)
    {
        if (!root.TryGetProperty(name, out var value))
            throw new InvalidDataException($"{path} line {lineNumber}: field '{name}' is missing.");
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"{path} line {lineNumber}: field '{name}' is {value.ValueKind}, not a string.");
    }

    /// <summary>Why a pair cannot be stored, or null: the one rule that both reading and writing apply.</summary>
    private static string? Problem(PreferencePair pair) =>
        pair.Prompt is null ? $"field '{PromptField}' is null."
        : pair.Chosen is null ? $"field '{ChosenField}' is null."
        : pair.Rejected is null ? $"field '{RejectedField}' is null."
        : pair.Chosen.Length == 0 ? $"field '{ChosenField}' is empty."
        : pair.Rejected.Length == 0 ? $"field '{RejectedField}' is empty."
        : null;
}
