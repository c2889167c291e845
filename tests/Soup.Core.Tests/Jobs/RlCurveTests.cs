using System.Text.Json;
using Soup.Core.Jobs;

namespace Soup.Core.Tests.Jobs;

public sealed class RlCurveTests
{
    private static List<RlCurvePoint> Steps(int count) =>
        [.. Enumerable.Range(1, count).Select(s => new RlCurvePoint(s, s, 10 * s, [-s]))];

    [Fact]
    public void Of_FewerStepsThanPoints_KeepsEveryStep()
    {
        var curve = RlCurve.Of("r", ["g"], Steps(7));

        Assert.Equal([1, 2, 3, 4, 5, 6, 7], curve.Points.Select(p => p.Step));
        Assert.Equal(Steps(7).Select(p => p.Kl), curve.Points.Select(p => p.Kl));
    }

    [Fact]
    public void Of_ManySteps_AveragesWindowsOfConsecutiveSteps_AtTheirLastStep()
    {
        var curve = RlCurve.Of("r", ["g"], Steps(250), maxPoints: 100);

        // ⌈250 / 100⌉ = 3 steps a window: 84 points, the last of one step.
        Assert.Equal(84, curve.Points.Count);
        Assert.Equal((3, 2.0, 20.0, -2.0), (curve.Points[0].Step, curve.Points[0].Reward, curve.Points[0].Kl, curve.Points[0].Tracked[0]));
        Assert.Equal((250, 250.0), (curve.Points[^1].Step, curve.Points[^1].Reward));
        Assert.True(curve.Points.Count <= RlCurve.MaxPoints);
    }

    [Fact]
    public void Compact_RoundTrips_OnOneLine()
    {
        var curve = RlCurve.Of("1·rm+0.5·conciseness", ["conciseness"], Steps(3));

        var json = JsonSerializer.Serialize(curve, SoupJson.Compact.RlCurve);
        var back = JsonSerializer.Deserialize(json, SoupJson.Default.RlCurve)!;

        Assert.DoesNotContain('\n', json);
        Assert.Equal(curve.Reward, back.Reward);
        Assert.Equal(curve.Points.Select(p => (p.Step, p.Reward, p.Kl, p.Tracked[0])), back.Points.Select(p => (p.Step, p.Reward, p.Kl, p.Tracked[0])));
    }
}
