namespace Soup.Training.Text;

/// <summary>
/// Token sequences of one length for language modelling: documents tokenized, each followed by end-of-text,
/// concatenated and cut into blocks (GPT-2's packing), the tail shorter than a block dropped.
/// </summary>
public sealed class TokenBlocks
{
    private readonly long[] _tokens;

    private TokenBlocks(long[] tokens, int length)
    {
        _tokens = tokens;
        Length = length;
    }

    /// <summary>Tokens per block.</summary>
    public int Length { get; }

    /// <summary>The number of blocks.</summary>
    public int Count => _tokens.Length / Length;

    /// <summary>Block <paramref name="index"/>.</summary>
    public ReadOnlySpan<long> this[long index] => _tokens.AsSpan(checked((int)(index * Length)), Length);

    /// <summary>Packs <paramref name="documents"/> into blocks of <paramref name="length"/> tokens.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is below 2.</exception>
    /// <exception cref="InvalidDataException">The documents do not fill one block; the message gives both counts.</exception>
    public static TokenBlocks Pack(IEnumerable<string> documents, TextTokenizer tokenizer, int length)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 2);
        var tokens = new List<long>();
        foreach (var document in documents)
        {
            foreach (var id in tokenizer.Encode(document))
                tokens.Add(id);
            tokens.Add(tokenizer.EndOfText);
        }

        return FromTokens([.. tokens], length);
    }

    /// <summary>Cuts a token stream into blocks of <paramref name="length"/> tokens, dropping the tail.</summary>
    /// <exception cref="InvalidDataException">The stream does not fill one block.</exception>
    public static TokenBlocks FromTokens(long[] tokens, int length)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 2);
        if (tokens.Length < length)
            throw new InvalidDataException($"The text has {tokens.Length} tokens, fewer than one block of {length}.");
        return new TokenBlocks(tokens[..(tokens.Length / length * length)], length);
    }
}
