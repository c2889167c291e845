using Soup.Core.Jobs;

namespace Soup.Training.Text;

/// <summary>Reads the part of a text dataset a job asks for (<see cref="DataLayouts.Text"/>, <see cref="DataLayouts.Preferences"/>).</summary>
public static class TextDatasets
{
    /// <summary>The documents of a text corpus in <paramref name="folder"/> (of its files <see cref="DataRef.Domains"/> names, when it names any), of the job's part, at most its limit.</summary>
    /// <exception cref="InvalidDataException">The corpus is empty, a file unreadable or a named file missing (the message names it), or the part holds nothing.</exception>
    public static IReadOnlyList<string> Documents(DataRef data, string folder)
    {
        ArgumentNullException.ThrowIfNull(data);
        var corpus = TextCorpus.Read(folder, data.Domains);
        return NotEmpty(HeldOut.Part(corpus.Documents, data.Part, data.HoldoutFraction, data.SplitSeed, data.Limit, data.Dataset), data, folder);
    }

    /// <summary>The preference pairs of every <c>.jsonl</c> file under <paramref name="folder"/> (ordinal order), of the job's part.</summary>
    /// <exception cref="InvalidDataException">No <c>.jsonl</c> file, a malformed line (file and line named), or the part holds nothing.</exception>
    public static IReadOnlyList<PreferencePair> Pairs(DataRef data, string folder)
    {
        ArgumentNullException.ThrowIfNull(data);
        var files = Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList()
            : throw new DirectoryNotFoundException($"Dataset '{data.Dataset}': folder '{folder}' does not exist.");
        if (files.Count == 0)
            throw new InvalidDataException($"Dataset '{data.Dataset}': no .jsonl preference files in '{folder}'.");
        var pairs = files.SelectMany(PreferencePairs.Read).ToList();
        return NotEmpty(HeldOut.Part(pairs, data.Part, data.HoldoutFraction, data.SplitSeed, data.Limit, data.Dataset), data, folder);
    }

    private static IReadOnlyList<T> NotEmpty<T>(IReadOnlyList<T> items, DataRef data, string folder) => items.Count > 0
        ? items
        : throw new InvalidDataException(
            $"Dataset '{data.Dataset}' ({data.Layout}, part {data.Part}, limit {data.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, holdout {data.HoldoutFraction}) at '{Path.GetFullPath(folder)}' selects no examples.");
}
