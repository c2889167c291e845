using System.Globalization;
using Soup.Core.Specs;

namespace Soup.Orchestration;

/// <summary>
/// The spec's stop rule, judged after each round on the soups' accuracy on the primary split: stop when the last soup
/// reached the target, or when it beat the best earlier soup by less than the minimum improvement.
/// </summary>
public static class StopRule
{
    /// <summary>Why the pipeline should stop after the last of <paramref name="rounds"/>, or null to go on.</summary>
    public static string? Check(StopSpec? stop, IReadOnlyList<RoundResult> rounds)
    {
        if (stop is null || rounds.Count == 0)
        {
            return null;
        }

        var last = rounds[^1];
        if (stop.Target is { } target && last.SoupAccuracy >= target)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"round {last.Round}'s soup reached the target: {last.SoupAccuracy:F4} ≥ {target:F4} on '{last.Split}'");
        }

        if (stop.MinImprovement is { } min && rounds.Count >= 2)
        {
            var best = rounds.Take(rounds.Count - 1).MaxBy(r => r.SoupAccuracy)!;
            var gain = last.SoupAccuracy - best.SoupAccuracy;
            if (gain < min)
            {
                return string.Create(
                    CultureInfo.InvariantCulture,
                    $"round {last.Round}'s soup ({last.SoupAccuracy:F4}) improved on the best earlier soup (round {best.Round}, {best.SoupAccuracy:F4}) by {gain:+0.0000;-0.0000;0.0000}, less than minImprovement {min:F4}, on '{last.Split}'");
            }
        }

        return null;
    }
}
