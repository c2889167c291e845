using Soup.Benchmarks;
using Soup.Core.Specs;

namespace Soup.EndToEnd.Tests;

/// <summary><c>pipeline bench rl</c>'s specs are valid recipes, WARP's sweeps η, and its tables show only the parts that ran.</summary>
public sealed class RlBenchmarkTests
{
    [Fact]
    public void Specs_AreValid_AndWarpScoresTheEtaSweepFromTheFirstInit()
    {
        foreach (var options in new[] { RlBenchmarkOptions.Standard, RlBenchmarkOptions.Quick })
        {
            PipelineSpec[] specs =
            [
                RlBenchmark.RewardedSpec(options, 1, null), RlBenchmark.RewardedSpec(options, 1, "p/init/model.safetensors"),
                RlBenchmark.HackingSpec(options, 1, "p/init/model.safetensors", "w/round-01/member-000/model.safetensors", "w/round-01/soup/model.safetensors"),
                RlBenchmark.WarpSpec(options, 0, null), RlBenchmark.WarpSpec(options, 2, "p/init/model.safetensors"),
            ];
            foreach (var spec in specs)
            {
                var parsed = SpecParser.Parse(SpecParser.ToJson(spec));
                Assert.True(parsed.IsValid, $"{spec.Name}: {string.Join("; ", parsed.Problems)}");
            }

            var warp = specs[3];
            Assert.Equal(0.5, warp.Soup!.TowardInit);
            Assert.Equal([0.25, 0.75], warp.Soup.TowardInitSweep!);
            Assert.Equal(("nuslerp", GenerationReferences.FirstInit), (warp.Merge.Method, warp.Evaluation!.Generation!.KlTo));

            // Without the soups part, seed 0's WARP pipeline pretrains the shared model with the job the rewarded one would send.
            Assert.Equal(
                SpecParser.ToJson(new PipelineSpec { Data = specs[0].Data, Init = specs[0].Init, Model = specs[0].Model, Seed = 0 }),
                SpecParser.ToJson(new PipelineSpec { Data = warp.Data, Init = warp.Init, Model = warp.Model, Seed = warp.Seed }));
            Assert.Equal(
                (specs[0].Members.BatchSize, specs[0].Members.Momentum, specs[0].Members.WeightDecay),
                (warp.Members.BatchSize, warp.Members.Momentum, warp.Members.WeightDecay));
        }
    }

    [Fact]
    public void Markdown_WarpOnly_ShowsTheFrontAcrossEta_AndNoOtherPart()
    {
        var options = RlBenchmarkOptions.Quick with { Parts = ["warp"] };
        RlWarpScore Score(int seed, int round, double shift) => new(seed, round, 0.70 + shift, 1.0 + shift, 0.72 + shift, 2.0 + shift, 0.71)
        {
            Sweep = [new(0.25, 0.60 + shift, 0.5 + shift), new(0.75, 0.71 + shift, 1.5 + shift)],
        };
        var result = new RlBenchmarkResult(options, [], [], [Score(0, 1, 0), Score(1, 1, 0.02), Score(0, 2, 0.1), Score(1, 2, 0.1)], [], 61, "test machine");

        var text = RlBenchmark.Markdown(result);

        Assert.DoesNotContain("Rewarded soups vs MORL", text, StringComparison.Ordinal);
        Assert.DoesNotContain("WARM then RL", text, StringComparison.Ordinal);
        Assert.Contains("Mean ± SE over 2 seed(s)", text, StringComparison.Ordinal);
        Assert.Contains("| iteration | η = 0.25 | η = 0.5 | η = 0.75 | η = 1 |", text, StringComparison.Ordinal);
        Assert.Contains("| 1 | 0.610 ± 0.010 / 0.51 ± 0.01 | 0.710 ± 0.010 / 1.01 ± 0.01 | 0.720 ± 0.010 / 1.51 ± 0.01 | 0.730 ± 0.010 / 2.01 ± 0.01 |", text, StringComparison.Ordinal);
        Assert.Contains("| 2 | 0.700 ± 0.000 / 0.60 ± 0.00 |", text, StringComparison.Ordinal);
        Assert.Contains("Took 0:01:01 on test machine", text, StringComparison.Ordinal);
        Assert.True(options.Runs("warp") && !options.Runs("soups") && RlBenchmarkOptions.Standard.Runs("soups"));
    }
}
