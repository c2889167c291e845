using Soup.Benchmarks;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Training.Text;

namespace Soup.EndToEnd.Tests;

/// <summary><c>pipeline bench warm</c>: its specs are valid and keep test data apart, its tables are right, and it runs for real on a small corpus.</summary>
[Collection(TorchCollection.Name)]
public sealed class WarmBenchmarkTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public void Specs_Valid_SelectOnNoisyValidation_ScoreGoldLabelsOnTheSeedsOwnData()
    {
        foreach (var options in new[] { WarmBenchmarkOptions.Standard, WarmBenchmarkOptions.Quick })
        {
            for (var seed = 0; seed < options.Seeds; seed++)
            {
                var spec = WarmBenchmark.Spec(options, seed);
                var parsed = SpecParser.Parse(SpecParser.ToJson(spec));
                Assert.True(parsed.IsValid, $"seed {seed}: {string.Join("; ", parsed.Problems)}");
                var (noisy, clean, test) = WarmBenchmark.Datasets(seed);
                Assert.Equal((noisy, "validation", seed), (spec.Data.Dataset, spec.Data.EvalSplit, spec.Seed));
                Assert.Equal(
                    [("test-clean", test, "all"), ("validation-clean", clean, "out"), ("train-clean", clean, "in")],
                    spec.Evaluation!.Splits!.Select(s => (s.Name, s.Dataset!, s.Part)));
                Assert.Equal(options.Members, spec.Members.Count);
            }
        }

        Assert.NotEqual(WarmBenchmark.Datasets(0), WarmBenchmark.Datasets(1));
    }

    [Fact]
    public void PipelineSpecs_Valid_MakeTheirPairsFromTheCorpusCopy_AndScoreTestAndShiftedPrompts()
    {
        foreach (var options in new[] { WarmBenchmarkOptions.Standard, WarmBenchmarkOptions.Quick })
        {
            Assert.True(options.PipelineMadePairs);
            var spec = WarmBenchmark.PipelineSpec(options, ["people", "wisdom"], seed: 2);
            var parsed = SpecParser.Parse(SpecParser.ToJson(spec));

            Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
            Assert.Equal((PairDatasets.Train, WarmBenchmarkOptions.CorpusName, PairCompletions.Corpus, 2), (spec.Data.Dataset, spec.Preferences!.Corpus, spec.Preferences.Completions, spec.Seed));
            Assert.Equal(WarmBenchmarkOptions.FortuneShiftedTopics, spec.Preferences.Shifted!.Topics!);
            Assert.Equal(["validation", "test", "shifted", "validation-clean", "train-clean"], JobPlanner.Splits(spec).Select(x => x.Name));
            Assert.Equal(WarmBenchmark.PipelineSplits.Order(), JobPlanner.Splits(spec).Select(x => x.Name).Order());
        }
    }

    [Fact]
    public void Markdown_MethodsBySplit_GainOverTheBestPerSeed_Conditions()
    {
        var options = WarmBenchmarkOptions.Quick with { Seeds = 2, ShiftedTopics = null };
        var scores = new List<WarmScore>();
        foreach (var seed in new[] { 0, 1 })
        {
            foreach (var split in WarmBenchmark.Splits)
            {
                scores.Add(new("Reward models (mean)", split, seed, 0.60));
                scores.Add(new("Best reward model", split, seed, 0.62 + (0.02 * seed)));
                scores.Add(new("WARM (uniform)", split, seed, 0.65));
                scores.Add(new("Ensemble", split, seed, 0.64));
            }
        }

        var text = WarmBenchmark.Markdown(new WarmBenchmarkResult(
            options, scores, [new(0, 0.2, 0.61, 0.6), new(1, null, null, null)], [new(0, 1000, 300, 250, 40), new(1, 1000, 300, 250, 41)], 75, "test machine"));

        Assert.Contains("| method | test-clean | validation-clean | validation | train-clean |", text, StringComparison.Ordinal);
        Assert.Contains("| Best reward model | 63.0 ± 1.0 | 63.0 ± 1.0 | 63.0 ± 1.0 | 63.0 ± 1.0 |", text, StringComparison.Ordinal);
        Assert.Contains("| WARM (uniform) | 65.0 ± 0.0 |", text, StringComparison.Ordinal);
        // WARM − best per seed: 3 and 1 points, mean 2 ± 1.
        Assert.Contains("test-clean 2.0 ± 1.0", text, StringComparison.Ordinal);
        Assert.Contains("| 0 | 20.00 | 61.00 | 60.00 |", text, StringComparison.Ordinal);
        Assert.Contains("| 1 | - | - | - |", text, StringComparison.Ordinal);
        Assert.Contains("seed 1: 1000 training pairs (250 flipped), 300 test pairs, 41 ties skipped", text, StringComparison.Ordinal);
        Assert.Contains("Took 0:01:15 on test machine", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SmallCorpus_EveryMethodScoredOnEverySplit()
    {
        var corpus = NewCorpus();
        WriteTopic(corpus, "stories.txt", "Story", 240);
        var options = new WarmBenchmarkOptions(1, 48, 16, 0.25, 2, 6, 4, 16, Corpus: corpus.FullName, Concurrency: 1);
        using var output = new StringWriter();

        var result = await WarmBenchmark.RunAsync(options, fixture.NewConfiguration(workers: 2), fixture.DataRoot, output, TestContext.Current.CancellationToken);

        Assert.Equal(WarmBenchmark.Methods.Count * WarmBenchmark.Splits.Count, result.Scores.Count);
        Assert.Equal(WarmBenchmark.Splits, result.Scores.Select(s => s.Split).Distinct());
        Assert.All(result.Scores, s => Assert.InRange(s.Accuracy, 0, 1));
        var data = Assert.Single(result.Data);
        Assert.Equal((48, 16, 12), (data.TrainPairs, data.TestPairs, data.Flipped));
        Assert.Equal(48, PreferencePairs.Read(Path.Combine(fixture.DataRoot, WarmBenchmark.Datasets(0).Noisy, "pairs.jsonl")).Count);
        Assert.Contains("| WARM (uniform) |", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_PipelineMadePairs_EveryMethodScoredOnTestAndShiftedPrompts()
    {
        var corpus = NewCorpus();
        WriteTopic(corpus, "stories.txt", "Story", 300);
        WriteTopic(corpus, "tales.txt", "Tale", 60);
        var options = new WarmBenchmarkOptions(1, 40, 12, 0.25, 2, 4, 2, 16, Corpus: corpus.FullName, Concurrency: 1, ShiftedTopics: ["tales.txt"], ShiftedPairs: 10);
        using var output = new StringWriter();

        var result = await WarmBenchmark.RunAsync(options, fixture.NewConfiguration(workers: 2), fixture.DataRoot, output, TestContext.Current.CancellationToken);

        Assert.Equal(WarmBenchmark.Methods.Count * WarmBenchmark.PipelineSplits.Count, result.Scores.Count);
        Assert.Equal(WarmBenchmark.PipelineSplits, result.Scores.Select(s => s.Split).Distinct());
        Assert.All(result.Scores, s => Assert.InRange(s.Accuracy, 0, 1));
        var data = Assert.Single(result.Data);
        Assert.Equal((40, 12, 10, 10), (data.TrainPairs, data.TestPairs, data.Flipped, data.Shifted));
        Assert.True(File.Exists(Path.Combine(fixture.DataRoot, WarmBenchmarkOptions.CorpusName, "tales.txt")));
        Assert.Contains("| method | test | shifted | validation-clean | validation | train-clean |", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("1 seed(s). test: other held-out documents' prompts", output.ToString(), StringComparison.Ordinal);
    }

    private DirectoryInfo NewCorpus() => Directory.CreateDirectory(Path.Combine(fixture.DataRoot, "corpus-" + Guid.NewGuid().ToString("N")[..8]));

    /// <summary>
    /// A topic file of <paramref name="count"/> paragraphs, each "{kind} {i} begins on a day that felt …" with 0-8
    /// repeats of " and then more": texts whose lengths differ, which the conciseness reward tells apart.
    /// </summary>
    private static void WriteTopic(DirectoryInfo corpus, string file, string kind, int count)
    {
        string[] words = ["good", "bad", "happy", "sad", "great", "terrible", "calm", "grey"];
        File.WriteAllLines(Path.Combine(corpus.FullName, file), Enumerable.Range(0, count).SelectMany(i => new[]
        {
            $"{kind} {i} begins on a day that felt {words[i % words.Length]}" + string.Concat(Enumerable.Repeat(" and then more", i % 9)) + " to everyone there.",
            "",
        }));
    }
}
