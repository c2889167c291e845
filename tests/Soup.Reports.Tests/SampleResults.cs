using Soup.Core.Jobs;
using Soup.Orchestration;
using Soup.Core.Specs;

namespace Soup.Reports.Tests;

/// <summary>
/// Pipeline results as the orchestration reports them: a three-round DiWA-style run with in- and out-of-distribution
/// scores, variants, a members' curve and a rewards sweep; and the bare results of older runs.
/// </summary>
internal static class SampleResults
{
    public static readonly DateTimeOffset Created = new(2026, 11, 27, 6, 0, 0, TimeSpan.Zero);

    /// <summary>A completed pipeline with every optional field filled in.</summary>
    public static PipelineStatusView Complete(string id = "diwa-20261127-abc123")
    {
        var rounds = Enumerable.Range(1, 3).Select(r => Round(id, r)).ToList();
        var choice = new CheckpointChoice(3, rounds[2].Soup, rounds[2].SoupAccuracy, "validation", "best validation accuracy of the 3 round(s)' soups: round 3, 0.8610");
        var result = new PipelineResult(
            id, rounds, choice.Checkpoint, choice,
            [new SplitInfo("validation", SplitRoles.Validation, "rotated fashion-mnist, domains 0,15,30,45,60, out part"),
             new SplitInfo("test", SplitRoles.Test, "rotated fashion-mnist, domain 75"),
             new SplitInfo("upright", SplitRoles.Objective, "domain 0"),
             new SplitInfo("tilted", SplitRoles.Objective, "domain 75")],
            Recipe: "diwa",
            Stopped: "the soup gained less than 0.1 points over the previous round");
        var progress = new PipelineProgress("completed", 3, 3, 0, 0, 0, rounds[2].SoupAccuracy, choice.Reason, BestRound: 3, BestSoupAccuracy: rounds[2].SoupAccuracy);
        return new PipelineStatusView(id, "Completed", Created, Created.AddMinutes(42), progress, result, null);
    }

    /// <summary>A round of six members; round 3 also has a rewards sweep instead of a members' curve.</summary>
    public static RoundResult Round(string id, int r)
    {
        var members = Enumerable.Range(0, 6).Select(m =>
        {
            var validation = 0.70 + (0.04 * r) + (0.01 * m);
            var test = validation - 0.12 + (0.005 * m);
            return new MemberResult(
                m, 0.01 * (m + 1), 700000 + (r * 1000) + m, $"{id}/round-{r:D2}/member-{m:D3}/model.safetensors", validation, 1 - validation,
                [new SplitAccuracy("validation", validation, 1 - validation), new SplitAccuracy("test", test, 1 - test)],
                new TrainSettings { Optimizer = "adam", Steps = 200, BatchSize = 64, LearningRate = 0.01 * (m + 1) });
        }).ToList();
        var soupValidation = members.Average(m => m.Accuracy) + 0.03;
        var soupTest = soupValidation - 0.09;
        InterpolationCurve curve = r < 3
            ? new InterpolationCurve("members", members[0].Checkpoint, members[5].Checkpoint, [.. Lambdas().Select(l => new InterpolationPoint(l,
                [new SplitAccuracy("validation", soupValidation - (0.02 * Math.Sin(Math.PI * l)), 0.3), new SplitAccuracy("test", soupTest - (0.03 * Math.Sin(Math.PI * l)), 0.4)]))])
            : new InterpolationCurve("rewards", members[0].Checkpoint, members[5].Checkpoint, [.. Lambdas().Select(l => new InterpolationPoint(l,
                [new SplitAccuracy("upright", 0.9 - (0.2 * l * l), 0.3), new SplitAccuracy("tilted", 0.6 + (0.25 * l) - (l == 0.5 ? 0.1 : 0), 0.4)]))]);
        return new RoundResult(
            r, r == 1 ? $"{id}/init/model.safetensors" : $"{id}/round-{r - 1:D2}/soup/model.safetensors", members,
            $"{id}/round-{r:D2}/soup/model.safetensors", soupValidation, 1 - soupValidation, "validation",
            new RoundDiagnostics(soupValidation + 0.01, 0.35, 0.10 + (0.02 * r), 0.8 + (0.2 * r), 0, 5, soupValidation - 0.01, soupValidation - 0.02, -0.01),
            r == 2 ? [new MissingMember(6, $"{id}/round-02/member-006", "did not land in time", 2)] : null,
            [new SplitAccuracy("validation", soupValidation, 1 - soupValidation), new SplitAccuracy("test", soupTest, 1 - soupTest)],
            [new SplitAccuracy("validation", soupValidation + 0.01, 0.35), new SplitAccuracy("test", soupTest + 0.01, 0.45)],
            [new SoupVariant("erm", members[5].Checkpoint, [5], members[5].Scores!, "the best member on validation"),
             new SoupVariant("uniform", $"{id}/round-{r:D2}/soup/model.safetensors", [0, 1, 2, 3, 4, 5], [new("validation", soupValidation, 0.3), new("test", soupTest, 0.4)], "all members, equal weights"),
             new SoupVariant("greedy", $"{id}/round-{r:D2}/greedy/model.safetensors", [5, 4, 3], [new("validation", soupValidation + 0.005, 0.3), new("test", soupTest - 0.002, 0.4)], "members kept while validation accuracy does not drop")],
            curve);
    }

    /// <summary>A completed run of the current orchestration: primary split only, no optional field.</summary>
    public static PipelineStatusView Bare(string id = "quickstart-20261127-bare01")
    {
        var rounds = Enumerable.Range(1, 2).Select(r => new RoundResult(
            r, $"{id}/init/model.safetensors",
            [.. Enumerable.Range(0, 4).Select(m => new MemberResult(m, 0.01 * (m + 1), m, $"{id}/round-{r:D2}/member-{m:D3}/model.safetensors", 0.6 + (0.05 * m) + (0.02 * r), 1.0))],
            $"{id}/round-{r:D2}/soup/model.safetensors", 0.75 + (0.02 * r), 0.7, "test")).ToList();
        var result = new PipelineResult(id, rounds, rounds[^1].Soup, new CheckpointChoice(2, rounds[^1].Soup, rounds[^1].SoupAccuracy, "test", "the last round's soup"));
        return new PipelineStatusView(id, "Completed", Created, Created.AddMinutes(3), null, result, null);
    }

    /// <summary>A pipeline still running its second round: progress only.</summary>
    public static PipelineStatusView Running(string id = "quickstart-20261127-run001") =>
        new(id, "Running", Created, Created.AddMinutes(1), new PipelineProgress("training", 2, 3, 1, 0, 3, 0.81, null, $"{id}:round-02"), null, null)
        {
            Jobs = [new JobProgress($"{id}/round-02/member-001", 120, 250, 0.4321, 2900, "worker-1", Created.AddMinutes(1))],
        };

    private static IEnumerable<double> Lambdas() => Enumerable.Range(0, 9).Select(i => i / 8.0);
}
