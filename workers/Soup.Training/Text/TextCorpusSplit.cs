namespace Soup.Training.Text;

/// <summary>A text corpus split into training and held-out documents (see <see cref="TextCorpus.Split"/>).</summary>
/// <param name="Train">The training documents, in corpus order.</param>
/// <param name="HeldOut">The held-out documents, in corpus order.</param>
public sealed record TextCorpusSplit(IReadOnlyList<string> Train, IReadOnlyList<string> HeldOut)
{
    /// <summary>The shortest document, in tokens, that gives a prompt.</summary>
    public const int MinPromptDocumentTokens = 2;

    /// <summary>
    /// Prompts from the held-out documents: the first <paramref name="promptTokens"/> tokens (all of them, if fewer) of
    /// each of the first <paramref name="count"/> held-out documents that have at least
    /// <see cref="MinPromptDocumentTokens"/> tokens. Fewer than <paramref name="count"/> when the held-out documents run out.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or <paramref name="promptTokens"/> below 1.</exception>
    public IReadOnlyList<int[]> Prompts(TextTokenizer tokenizer, int count, int promptTokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        var prompts = new List<int[]>(Math.Min(count, HeldOut.Count));
        foreach (var document in HeldOut)
        {
            if (prompts.Count == count)
                break;
            var ids = tokenizer.Encode(document);
            if (ids.Length >= MinPromptDocumentTokens)
                prompts.Add(ids.Length > promptTokens ? ids[..promptTokens] : ids);
        }

        return prompts;
    }
}
