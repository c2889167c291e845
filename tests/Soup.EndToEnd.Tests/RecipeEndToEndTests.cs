using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// The spec's richer stages on real parts (Azurite, the Durable engine, TorchSharp workers): rotated domains with a
/// held-out test domain, pretraining then a linear probe, Ratatouille's auxiliary fine-tunings as inits, a random
/// search, the greedy soup, an interpolation line and the stop rule.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class RecipeEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Run_RotatedProbeAuxiliaryGreedyLineAndStop_EveryStageDoesWhatTheSpecSays()
    {
        var parsed = SpecParser.Parse("""
            {
              "name": "e2e-recipe", "seed": 4, "rounds": 3,
              "stop": { "target": 0.01 },
              "model": "cnn-small",
              "data": { "dataset": "tiny", "layout": "rotated", "trainDomains": ["0", "15", "30"], "testDomains": ["75"], "evalSplit": "validation" },
              "init": { "pretrainSteps": 20, "learningRate": 0.05, "linearProbe": { "steps": 10, "learningRate": 0.05 } },
              "auxiliary": [ { "name": "a45", "domains": ["45"], "steps": 10 }, { "name": "a60", "domains": ["60"], "steps": 10 } ],
              "members": { "count": 3, "steps": 15, "batchSize": 32, "search": { "learningRate": { "min": 0.005, "max": 0.05, "log": true } } },
              "soup": { "select": "greedy", "interpolation": { "from": 0, "to": 1, "points": 3 } },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var container = engine.Services.GetRequiredService<SoupStorage>().Checkpoints;
        var view = await AzuriteEngineFixture.RunToEndAsync(engine, parsed.Spec!, TimeSpan.FromMinutes(6));
        var id = view.Id;

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var result = view.Result!;
        string Blob(string slot) => CheckpointLayout.Blob(id, slot, CheckpointLayout.CheckpointFile);

        // The stop rule's target is met at once: one round of at most three.
        var round = Assert.Single(result.Rounds);
        Assert.Contains("reached the target", result.Stopped, StringComparison.Ordinal);

        // The probe trained the head only: every featurizer tensor is the pretrained one, the head moved.
        var pretrained = await CheckpointAsserts.ReadAsync(container, Blob("init"));
        var probe = await CheckpointAsserts.ReadAsync(container, Blob("init/probe"));
        Assert.Equal("true", probe.Metadata["linear_probe"]);
        foreach (var tensor in probe.Tensors)
        {
            var before = pretrained.Tensors.Single(t => t.Name == tensor.Name).Data.ToArray();
            Assert.True(tensor.Name.StartsWith("fc.", StringComparison.Ordinal) != before.SequenceEqual(tensor.Data.ToArray()), $"{tensor.Name}: the probe should change exactly the head");
        }

        // The auxiliaries start from the probe; round 1's members from the auxiliaries, round-robin; the probe is the base.
        foreach (var aux in new[] { "init/aux-a45", "init/aux-a60" })
        {
            Assert.Equal(Blob("init/probe"), (await CheckpointAsserts.ReadAsync(container, Blob(aux))).Metadata["base_checkpoint"]);
        }

        Assert.Equal(Blob("init/probe"), round.Init);
        Assert.Equal([Blob("init/aux-a45"), Blob("init/aux-a60"), Blob("init/aux-a45")], round.Members.Select(m => m.Init));
        Assert.Equal(3, round.Members.Select(m => m.LearningRate).Distinct().Count());
        Assert.All(round.Members, m => Assert.InRange(m.LearningRate, 0.005, 0.05));

        // Every checkpoint scored on both splits; the splits say what they stand for.
        Assert.Equal([("validation", "validation"), ("test", "test")], result.Splits!.Select(s => (s.Name, s.Role)));
        Assert.All(round.Members, m => Assert.Equal(["validation", "test"], m.Scores!.Select(s => s.Split)));

        // The greedy soup is never worse on validation than the best member (it starts from it).
        var erm = round.Variants!.Single(v => v.Name == "erm");
        var greedy = round.Variants!.Single(v => v.Name == "greedy");
        Assert.Equal(greedy.Checkpoint, round.Soup);
        Assert.True(greedy.Scores[0].Accuracy >= erm.Scores[0].Accuracy, $"greedy {greedy.Scores[0].Accuracy} below the best member {erm.Scores[0].Accuracy}");
        Assert.Contains(erm.Members[0], greedy.Members);

        // The round's one evaluation job built it (no evaluation job per candidate), trying every member after the best.
        var slots = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{id}/round-01/", TestContext.Current.CancellationToken))
            slots.Add(blob.Name);
        Assert.Single(slots, b => b.EndsWith("/" + CheckpointLayout.EvaluationFile, StringComparison.Ordinal));
        Assert.Contains("2 more tried", greedy.Description, StringComparison.Ordinal);
        if (greedy.Members.Count > 1)
        {
            // What it kept is written next to the soup: the mean of those members, saying which they are.
            Assert.Equal(Blob("round-01/soup-greedy"), greedy.Checkpoint);
            var soup = await CheckpointAsserts.ReadAsync(container, greedy.Checkpoint!);
            var kept = greedy.Members.Select(m => round.Members.Single(r => r.Member == m).Checkpoint).ToList();
            Assert.Equal(kept.Order(), soup.Metadata["greedy_members"].Split(',').Order());
            CheckpointAsserts.AssertIsElementWiseMean([.. await Task.WhenAll(kept.Select(k => CheckpointAsserts.ReadAsync(container, k)))], soup);
        }
        else
        {
            Assert.Equal(erm.Checkpoint, greedy.Checkpoint);
            Assert.DoesNotContain(Blob("round-01/soup-greedy"), slots);
        }
        Assert.Contains(round.Variants!, v => v.Name == "uniform" && v.Checkpoint == Blob("round-01/soup"));
        Assert.Contains(round.Variants!, v => v.Name == "ensemble" && v.Checkpoint is null);

        // The line's middle is the elementwise mean of members 0 and 1, scored like every model.
        var line = round.Interpolation!;
        Assert.Equal([0, 0.5, 1], line.Points.Select(p => p.Lambda));
        Assert.Equal(round.Members[0].Scores, line.Points[0].Scores);
        var middle = await CheckpointAsserts.ReadAsync(container, Blob("round-01/soup-lerp-001"));
        CheckpointAsserts.AssertIsElementWiseMean(
            [await CheckpointAsserts.ReadAsync(container, round.Members[0].Checkpoint), await CheckpointAsserts.ReadAsync(container, round.Members[1].Checkpoint)], middle);
    }
}
