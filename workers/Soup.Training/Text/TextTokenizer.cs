using Microsoft.ML.Tokenizers;

namespace Soup.Training.Text;

/// <summary>
/// A tokenizer by name. <c>gpt2</c> is GPT-2's byte-level BPE (50,257 ids, end-of-text 50,256), from
/// Microsoft.ML.Tokenizers and its GPT-2 data package: the same ids as Hugging Face's <c>gpt2</c> tokenizer.
/// </summary>
public sealed class TextTokenizer
{
    /// <summary>The name of GPT-2's tokenizer.</summary>
    public const string Gpt2Name = "gpt2";

    /// <summary>GPT-2's end-of-text token.</summary>
    public const string EndOfTextToken = "<|endoftext|>";

    private static readonly Lazy<TextTokenizer> Gpt2Instance = new(() =>
    {
        var tokenizer = TiktokenTokenizer.CreateForModel(Gpt2Name);
        var endOfText = tokenizer.SpecialTokens is { } special && special.TryGetValue(EndOfTextToken, out var id)
            ? id
            : throw new InvalidOperationException($"The {Gpt2Name} tokenizer has no {EndOfTextToken} token.");
        return new TextTokenizer(Gpt2Name, tokenizer, endOfText, endOfText + 1);
    });

    private readonly Tokenizer _tokenizer;

    private TextTokenizer(string name, Tokenizer tokenizer, int endOfText, int vocabularySize)
    {
        Name = name;
        _tokenizer = tokenizer;
        EndOfText = endOfText;
        VocabularySize = vocabularySize;
    }

    /// <summary>The tokenizers this build knows.</summary>
    public static IReadOnlyList<string> Known { get; } = [Gpt2Name];

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The end-of-text id, which ends a sample and pads batches.</summary>
    public int EndOfText { get; }

    /// <summary>Ids are in [0, VocabularySize).</summary>
    public int VocabularySize { get; }

    /// <summary>The tokenizer called <paramref name="name"/> (loaded once per process).</summary>
    /// <exception cref="ArgumentException">No tokenizer has that name; the message lists the known ones.</exception>
    public static TextTokenizer Get(string name) => name switch
    {
        Gpt2Name => Gpt2Instance.Value,
        _ => throw new ArgumentException($"Unknown tokenizer '{name}'. Known tokenizers: {string.Join(", ", Known)}.", nameof(name)),
    };

    /// <summary>The ids of <paramref name="text"/>. The literal text <c>&lt;|endoftext|&gt;</c> is the end-of-text id.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. _tokenizer.EncodeToIds(text)];
    }

    /// <summary>The text of <paramref name="ids"/>.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _tokenizer.Decode(ids);
    }
}
