using static TorchSharp.torch;

namespace Soup.Training.Text;

/// <summary>A preference pair as token ids: prompt + chosen completion, prompt + rejected completion.</summary>
public sealed record TokenPair(int[] Chosen, int[] Rejected);

/// <summary>Preference pairs as a reward model reads them: tokenized, cut to its context, batched right-padded.</summary>
public static class TokenPairs
{
    /// <summary>Prompt + chosen and prompt + rejected, tokenized.</summary>
    public static TokenPair Tokenize(PreferencePair pair, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(pair);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new TokenPair(tokenizer.Encode(pair.Prompt + pair.Chosen), tokenizer.Encode(pair.Prompt + pair.Rejected));
    }

    /// <summary>
    /// The pairs with every sequence longer than <paramref name="context"/> cut from the left (a reward is read at the
    /// last token, so the end is what must stay), and how many sequences were cut.
    /// </summary>
    /// <exception cref="InvalidDataException">A sequence has no tokens; the message names the pair.</exception>
    public static (IReadOnlyList<TokenPair> Pairs, int Truncated) Fit(IReadOnlyList<TokenPair> pairs, int context)
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

        var fitted = pairs.Select((p, i) => new TokenPair(Cut(p.Chosen, i, "chosen"), Cut(p.Rejected, i, "rejected"))).ToList();
        return (fitted, truncated);
    }

    /// <summary>
    /// The pairs at <paramref name="indices"/> as ids [2n, L] right-padded with <paramref name="padding"/> (the chosen
    /// sequences, then the rejected, in pair order), their lengths [2n], and the real tokens they hold.
    /// </summary>
    public static (Tensor Ids, Tensor Lengths, long Tokens) Batch(IReadOnlyList<TokenPair> pairs, long[] indices, int padding)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(indices);
        var sequences = indices.Select(i => pairs[(int)i].Chosen).Concat(indices.Select(i => pairs[(int)i].Rejected)).ToList();
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
