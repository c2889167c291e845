namespace Soup.Training.Evaluation;

/// <summary>
/// Pairwise diversity of classifiers from their predicted classes (argmax) and the labels, as DiWA measures it.
/// </summary>
/// <remarks>
/// <para>
/// <b>Ratio-error</b> (<see cref="RatioError"/>) is the number of examples exactly one of the two gets wrong over the
/// number both get wrong, <c>(N01 + N10) / N00</c>. That is the <c>ratio_errors</c> of
/// <c>mixmo.core.metrics_ensemble</c> (alexrame/mixmo-pytorch, by DiWA's first author A. Ramé, adapted from DESlib's
/// <c>deslib.util.diversity.ratio_errors</c>), which both cite Aksela 2003, as DiWA (Ramé et al. 2022) does; it counts
/// a "different error" when one model errs and the other does not, and a "simultaneous error" when both err. DiWA's own
/// repository (facebookresearch/diwa) could not be read here to confirm it uses the same function.
/// </para>
/// <para>
/// Aksela's ratio can also be read as both wrong with different predictions over both wrong with the same prediction;
/// that reading is <see cref="DifferentToSameErrors"/>, kept for comparison but not the one reports use.
/// </para>
/// <para>
/// A zero denominator (no shared errors) leaves a ratio undefined: the pair methods return null, and
/// <see cref="MeanRatioError"/> leaves such pairs out of the mean (0 when every pair is left out), so reports never hold
/// NaN or infinity. (DESlib returns infinity there, mixmo <c>2 (N01 + N10) / n</c>; neither is used.)
/// </para>
/// </remarks>
public static class DiversityMetrics
{
    /// <summary>Classifies every example by whether each prediction is right and whether they agree.</summary>
    /// <exception cref="ArgumentException">The three arrays differ in length.</exception>
    public static PairCounts Count(ReadOnlySpan<int> labels, ReadOnlySpan<int> first, ReadOnlySpan<int> second)
    {
        if (first.Length != labels.Length || second.Length != labels.Length)
            throw new ArgumentException($"{labels.Length} labels but {first.Length} and {second.Length} predictions.");
        int bothRight = 0, onlyFirst = 0, onlySecond = 0, wrongSame = 0, wrongDifferent = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var firstRight = first[i] == labels[i];
            var secondRight = second[i] == labels[i];
            if (firstRight && secondRight)
                bothRight++;
            else if (secondRight)
                onlyFirst++;
            else if (firstRight)
                onlySecond++;
            else if (first[i] == second[i])
                wrongSame++;
            else
                wrongDifferent++;
        }
        return new PairCounts(bothRight, onlyFirst, onlySecond, wrongSame, wrongDifferent);
    }

    /// <summary>The share of examples the two predict differently; 0 for no examples.</summary>
    public static double Disagreement(PairCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return counts.Total == 0 ? 0 : (double)counts.Disagreements / counts.Total;
    }

    /// <summary>DiWA's ratio-error, single errors over shared errors; null when no example is wrong for both.</summary>
    public static double? RatioError(PairCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return counts.SharedErrors == 0 ? null : (double)counts.SingleErrors / counts.SharedErrors;
    }

    /// <summary>
    /// Both wrong with different predictions over both wrong with the same prediction; null when the two never make the
    /// same mistake. Not DiWA's ratio-error (see the class remarks).
    /// </summary>
    public static double? DifferentToSameErrors(PairCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return counts.BothWrongSame == 0 ? null : (double)counts.BothWrongDifferent / counts.BothWrongSame;
    }

    /// <summary>The mean disagreement over the pairs; 0 for no pairs.</summary>
    public static double MeanDisagreement(IReadOnlyList<PairCounts> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return pairs.Count == 0 ? 0 : pairs.Average(Disagreement);
    }

    /// <summary>
    /// The mean <see cref="RatioError"/> over the pairs with at least one shared error; pairs without are left out, and
    /// the result is 0 when no pair has one (or there are no pairs).
    /// </summary>
    public static double MeanRatioError(IReadOnlyList<PairCounts> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var defined = pairs.Select(RatioError).OfType<double>().ToList();
        return defined.Count == 0 ? 0 : defined.Average();
    }
}
