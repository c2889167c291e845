using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Training.Text;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// WARM's pipeline on real parts: GPT-2 reward models trained by real workers with the Bradley–Terry loss on a folder
/// of preference pairs, averaged into a soup, and evaluated on held-out pairs (pairwise accuracy) with the ensemble,
/// diversity and connectivity measured as for classifiers.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class WarmEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Run_PreferencePairs_TrainsRewardModelsAndScoresTheirSoupOnHeldOutPairs()
    {
        var dataset = "prefs-" + Guid.NewGuid().ToString("N")[..8];
        WritePairs(Path.Combine(fixture.DataRoot, dataset), count: 96);
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-warm", "seed": 2, "rounds": 1,
              "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "preferences", "validationFraction": 0.25, "evalSplit": "validation" },
              "members": { "count": 2, "steps": 12, "batchSize": 8, "optimizer": "adamw", "learningRates": [0.001, 0.003] },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var view = await AzuriteEngineFixture.RunToEndAsync(engine, parsed.Spec!, TimeSpan.FromMinutes(6));

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var round = Assert.Single(view.Result!.Rounds);

        // The members are reward models (GPT-2 names and the scalar head) trained on tokens.
        foreach (var member in round.Members)
        {
            var checkpoint = await CheckpointAsserts.ReadAsync(storage.Checkpoints, member.Checkpoint);
            Assert.Contains(checkpoint.Tensors, t => t.Name == "score.weight" && t.Shape.SequenceEqual(new long[] { 1, 128 }));
            Assert.Contains(checkpoint.Tensors, t => t.Name == "transformer.h.3.attn.c_attn.weight");
            Assert.True(checkpoint.Metadata.ContainsKey("tokens_per_second"), string.Join(", ", checkpoint.Metadata.Keys));
        }

        // Held-out pairs score every member and the soup: pairwise accuracy; the learnable preference is learnt.
        Assert.All(round.Members, m => Assert.InRange(Assert.Single(m.Scores!).Accuracy, 0, 1));
        Assert.True(round.SoupAccuracy > 0.6, $"the soup orders {round.SoupAccuracy:P0} of held-out pairs right");
        Assert.NotNull(round.Diagnostics);
    }

    [Fact]
    public async Task Run_MalformedPairsLine_FailsThePipelineNamingFileAndLineWithoutRetrying()
    {
        var dataset = "prefs-bad-" + Guid.NewGuid().ToString("N")[..8];
        var folder = Path.Combine(fixture.DataRoot, dataset);
        WritePairs(folder, count: 8);
        var file = Path.Combine(folder, "pairs.jsonl");
        var lines = File.ReadAllLines(file).ToList();
        lines[2] = """{"prompt": "x", "chosen": "y"}""";
        File.WriteAllLines(file, lines);
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-warm-bad", "seed": 2, "rounds": 1, "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "preferences", "validationFraction": 0.25, "evalSplit": "validation" },
              "members": { "count": 2, "steps": 2, "batchSize": 2, "learningRates": [0.001, 0.003], "retries": 3 },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 1));
        var view = await AzuriteEngineFixture.RunToEndAsync(engine, parsed.Spec!, TimeSpan.FromMinutes(3));

        Assert.Equal("Failed", view.RuntimeStatus);
        var failure = view.Failure ?? "";
        Assert.Contains("pairs.jsonl line 3: field 'rejected' is missing", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("dispatches", failure, StringComparison.Ordinal); // failed at its first delivery, not given up after retries
    }

    /// <summary>Pairs whose chosen completion praises and whose rejected one complains, after varied prompts.</summary>
    private static void WritePairs(string folder, int count)
    {
        Directory.CreateDirectory(folder);
        string[] openings = ["The weather today", "My new job", "This old book", "The last concert", "Our trip to the sea", "Dinner at home"];
        string[] good = [" was wonderful and happy.", " felt great, a real joy.", " was lovely and fun."];
        string[] bad = [" was awful and sad.", " felt terrible, a real pain.", " was horrible and dull."];
        var random = new Random(5);
        var pairs = Enumerable.Range(0, count).Select(i => new PreferencePair(
            openings[random.Next(openings.Length)] + $" ({i})", good[random.Next(good.Length)], bad[random.Next(bad.Length)]));
        PreferencePairs.Write(Path.Combine(folder, "pairs.jsonl"), pairs);
    }
}
