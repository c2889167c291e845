namespace Soup.Reports.Tests;

public sealed class ParetoFrontTests
{
    [Fact]
    public void Indices_TradeOffCurveWithADip_KeepsOnlyUndominatedPoints()
    {
        // λ = 0 .. 1: the middle point is worse on both objectives than its neighbour at λ = 0.25.
        (double, double)[] points = [(0.90, 0.60), (0.88, 0.66), (0.80, 0.62), (0.75, 0.75), (0.70, 0.85)];

        Assert.Equal([0, 1, 3, 4], ParetoFront.Indices(points));
    }

    [Fact]
    public void Indices_PointBetterOnOneAndEqualOnTheOther_DominatesIt()
    {
        (double, double)[] points = [(0.8, 0.7), (0.8, 0.75), (0.6, 0.75)];

        Assert.Equal([1], ParetoFront.Indices(points));
    }

    [Fact]
    public void Indices_IdenticalPoints_AreAllOptimal()
    {
        (double, double)[] points = [(0.5, 0.5), (0.5, 0.5), (0.4, 0.4)];

        Assert.Equal([0, 1], ParetoFront.Indices(points));
    }

    [Fact]
    public void Indices_NaNCoordinate_NeitherOptimalNorDominating()
    {
        (double, double)[] points = [(double.NaN, 0.9), (0.5, 0.5)];

        Assert.Equal([1], ParetoFront.Indices(points));
    }

    [Fact]
    public void Indices_NoPoints_Empty() => Assert.Empty(ParetoFront.Indices([]));

    [Fact]
    public void Hypervolume_IsTheUnionOfTheRectanglesAboveTheReference()
    {
        // Staircase (3, 1), (2, 2), (1, 3) above (0, 0): 3·1 + 2·1 + 1·1 = 6; the dominated (1, 1) adds nothing.
        Assert.Equal(6, ParetoFront.Hypervolume([(3, 1), (1, 1), (2, 2), (1, 3)], (0, 0)), 12);
        Assert.Equal(3, ParetoFront.Hypervolume([(3, 1), (2, 2), (1, 3)], (0, 1)), 12); // only the area above y = 1: 2·1 + 1·1
        Assert.Equal(0, ParetoFront.Hypervolume([(0, 5), (5, 0)], (0, 0)), 12); // on the reference: nothing dominated
        Assert.Equal(0, ParetoFront.Hypervolume([], (0, 0)));
    }

    [Fact]
    public void Hypervolume_AddingAPointTheFrontDominates_ChangesNothing_AddingOneBeyondIt_Grows()
    {
        (double X, double Y)[] front = [(4, 1), (3, 3), (1, 4)];
        var area = ParetoFront.Hypervolume(front, (0, 0));

        Assert.Equal(area, ParetoFront.Hypervolume([.. front, (2, 2)], (0, 0)), 12);
        Assert.True(ParetoFront.Hypervolume([.. front, (3.5, 3.5)], (0, 0)) > area);
    }
}
