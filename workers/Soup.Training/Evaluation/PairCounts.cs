namespace Soup.Training.Evaluation;

/// <summary>
/// How two classifiers' predictions fall on the same examples: every example is in exactly one of the five counts.
/// </summary>
/// <param name="BothRight">Both predict the label.</param>
/// <param name="OnlyFirstWrong">The first is wrong, the second right.</param>
/// <param name="OnlySecondWrong">The first is right, the second wrong.</param>
/// <param name="BothWrongSame">Both are wrong with the same prediction.</param>
/// <param name="BothWrongDifferent">Both are wrong with different predictions.</param>
public sealed record PairCounts(int BothRight, int OnlyFirstWrong, int OnlySecondWrong, int BothWrongSame, int BothWrongDifferent)
{
    /// <summary>The number of examples.</summary>
    public int Total => BothRight + OnlyFirstWrong + OnlySecondWrong + BothWrongSame + BothWrongDifferent;

    /// <summary>Examples exactly one of the two gets wrong (DESlib's N01 + N10).</summary>
    public int SingleErrors => OnlyFirstWrong + OnlySecondWrong;

    /// <summary>Examples both get wrong, with the same or different predictions (DESlib's N00).</summary>
    public int SharedErrors => BothWrongSame + BothWrongDifferent;

    /// <summary>Examples the two predict differently.</summary>
    public int Disagreements => OnlyFirstWrong + OnlySecondWrong + BothWrongDifferent;
}
