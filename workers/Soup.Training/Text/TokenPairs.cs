using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>A preference pair as token ids: prompt + chosen completion, prompt + rejected completion.</summary>
public sealed record TokenPair(int[] Chosen, int[] Rejected);

/// <summary>Preference pairs as token ids.</summary>
public static class TokenPairs
{
    /// <summary>Prompt + chosen and prompt + rejected, tokenized.</summary>
    public static TokenPair Tokenize(PreferencePair pair, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(pair);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new TokenPair(tokenizer.Encode(pair.Prompt + pair.Chosen), tokenizer.Encode(pair.Prompt + pair.Rejected));
    }
}

/// <summary>
/// Preference pairs cut to a reward model's context, batched right-padded: what reward-model training
/// (<see cref="RewardModelling"/>) and evaluation (<see cref="PreferenceSplit"/>) both read.
/// </summary>
public sealed class ContextPairs
{
    private readonly List<TokenPair> _pairs;
    private readonly int _padding;

    /// <summary>
    /// Cuts every sequence of <paramref name="pairs"/> longer than <paramref name="context"/> from the left (a reward is
    /// read at the last token, so the end is what must stay); <paramref name="padding"/> (end-of-text) pads batches.
    /// </summary>
    /// <exception cref="InvalidDataException">A sequence has no tokens; the message names the pair.</exception>
    public ContextPairs(IReadOnlyList<TokenPair> pairs, int context, int padding)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        var truncated = 0;
        int[] Cut(int[] ids, int pair, string which)
        {
            if (ids.Length == 0)
                throw new InvalidDataException($"Preference pair {pair}: the {which} sequence has no tokens.");
            if (ids.Length <= context)
                return ids;
            truncated++;
            return ids[^context..];
        }

        _pairs = [.. pairs.Select((p, i) => new TokenPair(Cut(p.Chosen, i, "chosen"), Cut(p.Rejected, i, "rejected")))];
        _padding = padding;
        Context = context;
        Truncated = truncated;
    }

    /// <summary>The number of pairs.</summary>
    public int Count => _pairs.Count;

    /// <summary>The context sequences were cut to.</summary>
    public int Context { get; }

    /// <summary>Sequences longer than the context, cut from the left.</summary>
    public int Truncated { get; }

    /// <summary>
    /// The pairs at <paramref name="indices"/> as ids [2n, L] right-padded (the chosen sequences, then the rejected, in
    /// pair order), their lengths [2n], and the real tokens they hold.
    /// </summary>
    public (Tensor Ids, Tensor Lengths, long Tokens) Batch(long[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return RightPadded([.. indices.Select(i => _pairs[(int)i].Chosen).Concat(indices.Select(i => _pairs[(int)i].Rejected))], _padding);
    }

    /// <summary>
    /// Sequences (each at least one token) as ids [n, L] right-padded with <paramref name="padding"/>, their lengths [n]
    /// (where a reward model reads each), and the real tokens they hold.
    /// </summary>
    public static (Tensor Ids, Tensor Lengths, long Tokens) RightPadded(IReadOnlyList<int[]> sequences, int padding)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var width = sequences.Max(s => s.Length);
        var ids = new long[sequences.Count * width];
        Array.Fill(ids, padding);
        var lengths = new long[sequences.Count];
        for (var row = 0; row < sequences.Count; row++)
        {
            for (var t = 0; t < sequences[row].Length; t++)
                ids[(row * width) + t] = sequences[row][t];
            lengths[row] = sequences[row].Length;
        }

        return (tensor(ids, [sequences.Count, width]), tensor(lengths), lengths.Sum());
    }
}
