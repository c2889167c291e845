using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// Rewarded soups of RL policies on real parts: a language-model init pretrained by a worker, then each member an RLOO
/// fine-tuning of it against its own gold reward with a KL to the init, the λ sweep between them, all scored by
/// next-token accuracy and by what they generate (both rewards, KL to the init).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class RlEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Run_RewardedSoupsOfRlPolicies_OneRewardEach_TheSweepScoredOnBothRewards()
    {
        var dataset = "rl-corpus-" + Guid.NewGuid().ToString("N")[..8];
        var folder = Directory.CreateDirectory(Path.Combine(fixture.DataRoot, dataset));
        string[] subjects = ["The cat", "A small dog", "My neighbour", "The old sailor", "Our teacher"];
        File.WriteAllText(Path.Combine(folder.FullName, "lines.txt"), string.Join("\n\n", Enumerable.Range(0, 160).Select(i =>
            $"{subjects[i % subjects.Length]} went out at {i % 12} o'clock and came back with {i % 7} apples.")));
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-rl", "seed": 3, "rounds": 1, "task": "language-modelling", "recipe": "rewarded", "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "pretrainSteps": 4, "learningRate": 0.001 },
              "members": { "count": 2, "steps": 3, "batchSize": 4, "learningRates": [0.001],
                           "rl": { "samples": 2, "promptsPerStep": 2, "maxNewTokens": 6, "klCoefficient": 0.05 },
                           "explicit": [ { "rewards": [ { "reward": "conciseness", "weight": 1 } ] }, { "rewards": [ { "reward": "conciseness", "weight": -1 } ] } ] },
              "soup": { "select": "all", "interpolation": { "from": 0, "to": 1, "points": 3 } },
              "evaluation": { "generation": { "prompts": 4, "maxNewTokens": 6, "rewards": ["conciseness", "lexical-diversity"], "keep": 1 } },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, parsed.Spec!, cancellationToken: TestContext.Current.CancellationToken);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var view = await RoundResults.LoadAsync(storage, PipelineStatusView.From(await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancel.Token)), cancel.Token);

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var round = Assert.Single(view.Result!.Rounds);
        // Member 1 is rewarded for the opposite of member 0 (six-token completions are all lexically diverse: a
        // reward that does not vary gives RLOO no signal, and the policy rightly does not move).
        string[] rewards = ["conciseness", "lexical-diversity"];
        string[] optimised = ["conciseness", "-1·conciseness"];
        foreach (var member in round.Members)
        {
            var checkpoint = await CheckpointAsserts.ReadAsync(storage.Checkpoints, member.Checkpoint);
            Assert.Equal((optimised[member.Member], "adamw", "3"), (checkpoint.Metadata["rl_reward"], checkpoint.Metadata["optimizer"], checkpoint.Metadata["steps"]));
            // The last step's KL is the sampled estimate Σ log π − log π_anchor: finite, and on one small batch of either sign.
            Assert.True(double.IsFinite(double.Parse(checkpoint.Metadata["rl_final_kl"], System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Contains(checkpoint.Tensors, t => t.Name == "transformer.wte.weight");
        }

        // Rewarded soups: the members, the soup and every point of the λ sweep between the two policies generate, each
        // scored on both rewards (the front in numbers) and by its KL to the init the policies were fine-tuned from.
        var generation = round.Generation!;
        Assert.Equal(3, round.Interpolation!.Points.Count);
        Assert.True(generation.Count >= 4, string.Join(", ", generation.Select(g => g.Checkpoint))); // members, soup, and the sweep's inner point at least
        Assert.All(generation, g => Assert.Equal(rewards, g.Rewards.Select(r => r.Reward)));
        Assert.All(generation.Where(g => round.Members.Any(m => m.Checkpoint == g.Checkpoint)), g => Assert.True(g.KlToReference > 0, $"{g.Checkpoint}: KL {g.KlToReference}"));
    }

    [Fact]
    public async Task Run_WarpOfRlPolicies_MovingAnchor_SlerpThenTowardTheInit_Iterated()
    {
        var dataset = "warp-corpus-" + Guid.NewGuid().ToString("N")[..8];
        var folder = Directory.CreateDirectory(Path.Combine(fixture.DataRoot, dataset));
        File.WriteAllText(Path.Combine(folder.FullName, "lines.txt"), string.Join("\n\n", Enumerable.Range(0, 160).Select(i =>
            $"Line {i} says the boat left at {i % 12} o'clock with {i % 7} people on board.")));
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-warp-rl", "seed": 4, "rounds": 2, "recipe": "warp", "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "pretrainSteps": 4, "learningRate": 0.001 },
              "members": { "count": 2, "steps": 2, "batchSize": 4, "learningRates": [0.001, 0.002],
                           "rl": { "rewards": [ { "reward": "conciseness", "weight": 1 } ], "samples": 2, "promptsPerStep": 2, "maxNewTokens": 6, "anchorDecay": 0.9 } },
              "merge": { "method": "slerp", "t": 0.5 },
              "soup": { "towardInit": 0.5 },
              "evaluation": { "generation": { "prompts": 4, "maxNewTokens": 6, "rewards": ["conciseness"], "keep": 1 } },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, parsed.Spec!, cancellationToken: TestContext.Current.CancellationToken);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var view = await RoundResults.LoadAsync(storage, PipelineStatusView.From(await engine.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancel.Token)), cancel.Token);

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var rounds = view.Result!.Rounds;
        Assert.Equal(2, rounds.Count);
        // Iterated: round 2's policies start from round 1's soup (SLERP, then back toward the init by η), and every
        // round reports the generation reward and the KL of its soup to that round's init.
        Assert.Equal(rounds[0].Soup, rounds[1].Init);
        Assert.All(rounds, r => Assert.Contains(r.Variants!, v => v.Name == "slerp+liti" && v.Checkpoint == r.Soup));
        Assert.All(rounds, r => Assert.NotNull(Assert.Single(r.Generation!, g => g.Checkpoint == r.Soup).KlToReference));
    }
}
