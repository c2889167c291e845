using Soup.Benchmarks;
using Soup.Core.Specs;

namespace Soup.EndToEnd.Tests;

/// <summary><c>pipeline bench soups</c>: its specs follow the protocol, its statistics are right, and it runs for real on tiny data.</summary>
[Collection(TorchCollection.Name)]
public sealed class SoupsBenchmarkTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public void Specs_EveryDomainHeldOut_AreValidAndNeverTrainOnTheTestDomain()
    {
        foreach (var options in new[] { SoupsBenchmarkOptions.Standard, SoupsBenchmarkOptions.Quick })
        {
            foreach (var test in options.TestDomains)
            {
                var train = Soup.Core.Jobs.DataLayouts.RotatedDomains.Where(d => d != test).ToList();
                foreach (var spec in new[]
                {
                    SoupsBenchmark.DiwaSpec(options, train, test, 0),
                    SoupsBenchmark.RatatouilleSpec(options, train, test, 0, "p/init/model.safetensors"),
                    SoupsBenchmark.MovingAverageSpec(options, train, test, 0, "p/init/model.safetensors"),
                })
                {
                    var parsed = SpecParser.Parse(SpecParser.ToJson(spec));
                    Assert.True(parsed.IsValid, $"{spec.Name}, test {test}: {string.Join("; ", parsed.Problems)}");
                    Assert.Equal([test], spec.Data.TestDomains!);
                    Assert.DoesNotContain(test, spec.Data.TrainDomains!);
                    Assert.Equal("validation", spec.Data.EvalSplit); // model selection on the training domains only
                    Assert.All(spec.Auxiliary ?? [], a => Assert.DoesNotContain(test, a.Domains!));
                }
            }
        }
    }

    [Fact]
    public void Cell_MeanAndStandardError()
    {
        Assert.Equal("-", SoupsBenchmark.Cell([]));
        Assert.Equal("72.3", SoupsBenchmark.Cell([0.723]));
        // sd 0.02, se 0.02 / sqrt(3) = 0.0115.
        Assert.Equal("72.0 ± 1.2", SoupsBenchmark.Cell([0.70, 0.72, 0.74]));
    }

    [Fact]
    public void Markdown_ColumnsPerDomainIterationsInOrderAverageOverCompleteSeeds()
    {
        var options = SoupsBenchmarkOptions.Quick with { TestDomains = ["0", "75"], Seeds = 2 };
        var scores = new List<SoupsScore>();
        foreach (var seed in new[] { 0, 1 })
        {
            foreach (var (domain, accuracy) in new[] { ("0", 0.5), ("75", 0.7) })
            {
                scores.Add(new("ERM", domain, seed, accuracy + (0.02 * seed)));
                scores.AddRange(Enumerable.Range(1, 10).Select(r => new SoupsScore($"Iteration {r}", domain, seed, accuracy)));
            }
        }

        scores.Add(new("MA", "0", 0, 0.4)); // seed 0 only, domain 0 only: no average

        var text = SoupsBenchmark.Markdown(new SoupsBenchmarkResult(options, scores, [], 61, "test machine"));

        Assert.Contains("| method | 0° | 75° | avg |", text, StringComparison.Ordinal);
        Assert.Contains("| ERM | 51.0 ± 1.0 | 71.0 ± 1.0 | 61.0 ± 1.0 |", text, StringComparison.Ordinal);
        Assert.Contains("| MA | 40.0 | - | - |", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("| Iteration 2 |", StringComparison.Ordinal) < text.IndexOf("| Iteration 10 |", StringComparison.Ordinal));
        Assert.Contains("on test machine", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_TinyRotatedData_EveryMethodScoredForTheTask()
    {
        var options = new SoupsBenchmarkOptions(1, ["75"], 2, 6, 6, 4, 2, 60, Dataset: "tiny", Concurrency: 1);
        using var output = new StringWriter();

        var result = await SoupsBenchmark.RunAsync(options, fixture.NewConfiguration(workers: 2), output, TestContext.Current.CancellationToken);

        Assert.Equal(
            [.. SoupsBenchmark.Methods, "Iteration 1", "Iteration 2"],
            result.Scores.Select(s => s.Method));
        Assert.All(result.Scores, s => Assert.Equal(("75", 0), (s.TestDomain, s.Seed)));
        Assert.All(result.Scores, s => Assert.InRange(s.Accuracy, 0, 1));
        // Iteration 1 is round 1's uniform soup: the same model as DiWA uniform.
        Assert.Equal(result.Scores.Single(s => s.Method == "DiWA uniform").Accuracy, result.Scores.Single(s => s.Method == "Iteration 1").Accuracy);
        var conditions = Assert.Single(result.Conditions);
        Assert.NotNull(conditions.RatioError ?? conditions.Disagreement);
        Assert.Contains("| DiWA greedy |", output.ToString(), StringComparison.Ordinal);
    }
}
