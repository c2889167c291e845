namespace Soup.Training.Text;

/// <summary>How completions are sampled.</summary>
/// <param name="MaxNewTokens">The most tokens a completion gets (at least 1).</param>
/// <param name="Temperature">Logits are divided by it; 0 picks the most likely token (greedy).</param>
/// <param name="TopK">Only the k most likely tokens can be drawn (0: all).</param>
/// <param name="TopP">Only the most likely tokens whose probabilities sum to p can be drawn (nucleus; 1: all).</param>
/// <param name="StopAtEndOfText">A completion ends at the end-of-text token, which it does not include.</param>
public sealed record SamplingOptions(int MaxNewTokens = 32, double Temperature = 1.0, int TopK = 0, double TopP = 1.0, bool StopAtEndOfText = true)
{
    /// <summary>Throws when an option is out of range, naming it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    public void Validate()
    {
        if (MaxNewTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "maxNewTokens must be at least 1.");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be finite and at least 0.");
        if (TopK < 0)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "topK must be at least 0 (0: no limit).");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "topP must be in (0, 1].");
    }
}

/// <summary>Sampled completions, in prompt order, and how many prompts were cut to fit the context.</summary>
/// <param name="Completions">Each prompt's completion (token ids, without the prompt or an end-of-text).</param>
/// <param name="TruncatedPrompts">Prompts longer than the context left for them, cut from the left.</param>
public sealed record SamplingResult(IReadOnlyList<int[]> Completions, int TruncatedPrompts);
