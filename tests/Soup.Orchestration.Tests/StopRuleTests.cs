using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

public sealed class StopRuleTests
{
    private static RoundResult Round(int round, double accuracy) =>
        new(round, "init", [], $"soup-{round}", accuracy, 1 - accuracy, "validation");

    [Fact]
    public void Check_NoRuleOrNoRounds_GoesOn()
    {
        Assert.Null(StopRule.Check(null, [Round(1, 0.9)]));
        Assert.Null(StopRule.Check(new StopSpec { Target = 0.5 }, []));
    }

    [Fact]
    public void Check_MinImprovement_ComparesWithTheBestEarlierSoupNotTheLastOne()
    {
        var rule = new StopSpec { MinImprovement = 0.01 };

        Assert.Null(StopRule.Check(rule, [Round(1, 0.80)])); // nothing to compare with yet
        Assert.Null(StopRule.Check(rule, [Round(1, 0.80), Round(2, 0.82)]));
        // Round 3 beats round 2 by 0.02 but the best earlier soup (round 1) by only 0.005.
        var why = StopRule.Check(rule, [Round(1, 0.855), Round(2, 0.84), Round(3, 0.86)]);
        Assert.NotNull(why);
        Assert.Contains("round 1, 0.8550", why, StringComparison.Ordinal);
        Assert.Contains("+0.0050", why, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_Target_StopsOnceReachedEvenInRoundOne()
    {
        var rule = new StopSpec { Target = 0.9, MinImprovement = 0.5 };

        Assert.Null(StopRule.Check(rule with { MinImprovement = null }, [Round(1, 0.8999)]));
        Assert.Contains("reached the target", StopRule.Check(rule, [Round(1, 0.9)]), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SoupGotWorse_Stops()
    {
        Assert.NotNull(StopRule.Check(new StopSpec { MinImprovement = 0 }, [Round(1, 0.8), Round(2, 0.79)]));
        Assert.Null(StopRule.Check(new StopSpec { MinImprovement = 0 }, [Round(1, 0.8), Round(2, 0.8)]));
    }
}
