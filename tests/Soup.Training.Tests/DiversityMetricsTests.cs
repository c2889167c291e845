using Soup.Training.Evaluation;
namespace Soup.Training.Tests;

public sealed class DiversityMetricsTests
{
    // Example by example: both right; only the second wrong; only the first wrong; both wrong the same way (twice);
    // both wrong differently (three times).
    private static readonly int[] Labels = [0, 1, 2, 3, 4, 5, 6, 7];
    private static readonly int[] First = [0, 1, 9, 9, 9, 9, 7, 8];
    private static readonly int[] Second = [0, 2, 2, 9, 9, 8, 1, 3];

    [Fact]
    public void Count_HandMadeCase_PutsEachExampleInItsCell()
    {
        var counts = DiversityMetrics.Count(Labels, First, Second);

        Assert.Equal(new PairCounts(BothRight: 1, OnlyFirstWrong: 1, OnlySecondWrong: 1, BothWrongSame: 2, BothWrongDifferent: 3), counts);
        Assert.Equal(8, counts.Total);
        Assert.Equal(2, counts.SingleErrors);
        Assert.Equal(5, counts.SharedErrors);
        Assert.Equal(5, counts.Disagreements);
    }

    [Fact]
    public void Count_SwappedClassifiers_SwapsTheSingleErrorCells()
    {
        var counts = DiversityMetrics.Count([0, 1], [0, 0], [0, 1]);
        var swapped = DiversityMetrics.Count([0, 1], [0, 1], [0, 0]);

        Assert.Equal(new PairCounts(BothRight: 1, OnlyFirstWrong: 1, OnlySecondWrong: 0, BothWrongSame: 0, BothWrongDifferent: 0), counts);
        Assert.Equal(counts with { OnlyFirstWrong = 0, OnlySecondWrong = 1 }, swapped);
    }

    [Fact]
    public void Disagreement_HandMadeCase_IsShareOfExamplesPredictedDifferently()
    {
        var counts = DiversityMetrics.Count(Labels, First, Second);

        Assert.Equal(5.0 / 8, DiversityMetrics.Disagreement(counts));
    }

    [Fact]
    public void RatioError_HandMadeCase_IsSingleErrorsOverSharedErrors()
    {
        var counts = DiversityMetrics.Count(Labels, First, Second);

        Assert.Equal(2.0 / 5, DiversityMetrics.RatioError(counts));
        Assert.Equal(3.0 / 2, DiversityMetrics.DifferentToSameErrors(counts));
    }

    [Fact]
    public void Metrics_IdenticalPredictions_AreZero()
    {
        var counts = DiversityMetrics.Count(Labels, First, First);

        Assert.Equal(0, DiversityMetrics.Disagreement(counts));
        Assert.Equal(0, DiversityMetrics.RatioError(counts));
        Assert.Equal(0, DiversityMetrics.DifferentToSameErrors(counts));
    }

    [Fact]
    public void RatioError_NoSharedErrors_IsNull()
    {
        var counts = DiversityMetrics.Count(Labels, Labels, Second);

        Assert.Equal(0, counts.SharedErrors);
        Assert.Null(DiversityMetrics.RatioError(counts));
        Assert.Null(DiversityMetrics.DifferentToSameErrors(counts));
    }

    [Fact]
    public void MeanRatioError_PairWithoutSharedErrors_IsLeftOutOfTheMean()
    {
        var defined = DiversityMetrics.Count(Labels, First, Second);
        var undefined = DiversityMetrics.Count(Labels, Labels, Second);
        var identical = DiversityMetrics.Count(Labels, First, First);

        Assert.Equal((0.4 + 0) / 2, DiversityMetrics.MeanRatioError([defined, undefined, identical]));
        Assert.Equal((5.0 / 8 + 6.0 / 8 + 0) / 3, DiversityMetrics.MeanDisagreement([defined, undefined, identical]));
    }

    [Fact]
    public void MeanRatioError_NoPairWithSharedErrors_IsZero()
    {
        var undefined = DiversityMetrics.Count(Labels, Labels, Second);

        Assert.Equal(0, DiversityMetrics.MeanRatioError([undefined, undefined]));
        Assert.Equal(0, DiversityMetrics.MeanRatioError([]));
        Assert.Equal(0, DiversityMetrics.MeanDisagreement([]));
    }

    [Fact]
    public void Count_LengthsDiffer_Throws()
    {
        Assert.Throws<ArgumentException>(() => DiversityMetrics.Count(Labels, First, Second.AsSpan(1)));
    }
}
