using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// Members fine-tuned by reinforcement learning on real parts: a language-model init pretrained by a worker, then each
/// member an RLOO fine-tuning of it against a gold reward with a KL to the init, averaged, and scored by next-token
/// accuracy and by what the policies generate (reward, KL to the init).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class RlEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Run_RlMembers_FineTuneThePolicyAgainstTheReward_RecordedInTheirCheckpoints()
    {
        var dataset = "rl-corpus-" + Guid.NewGuid().ToString("N")[..8];
        var folder = Directory.CreateDirectory(Path.Combine(fixture.DataRoot, dataset));
        string[] subjects = ["The cat", "A small dog", "My neighbour", "The old sailor", "Our teacher"];
        File.WriteAllText(Path.Combine(folder.FullName, "lines.txt"), string.Join("\n\n", Enumerable.Range(0, 160).Select(i =>
            $"{subjects[i % subjects.Length]} went out at {i % 12} o'clock and came back with {i % 7} apples.")));
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-rl", "seed": 3, "rounds": 1, "task": "language-modelling", "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "pretrainSteps": 4, "learningRate": 0.001 },
              "members": { "count": 2, "steps": 3, "batchSize": 4, "learningRates": [0.0003, 0.001],
                           "rl": { "rewards": [ { "reward": "conciseness", "weight": 1 } ], "samples": 2, "promptsPerStep": 2, "maxNewTokens": 6, "klCoefficient": 0.05 } },
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
        var round = Assert.Single(view.Result!.Rounds);
        foreach (var member in round.Members)
        {
            var checkpoint = await CheckpointAsserts.ReadAsync(storage.Checkpoints, member.Checkpoint);
            Assert.Equal(("conciseness", "adamw", "3"), (checkpoint.Metadata["rl_reward"], checkpoint.Metadata["optimizer"], checkpoint.Metadata["steps"]));
            Assert.True(double.Parse(checkpoint.Metadata["rl_final_kl"], System.Globalization.CultureInfo.InvariantCulture) >= 0);
            Assert.Contains(checkpoint.Tensors, t => t.Name == "transformer.wte.weight");
        }

        // The policies moved away from the init they were fine-tuned from, and what they generate is scored.
        Assert.All(round.Generation!, g => Assert.True(g.KlToReference > 0, $"{g.Checkpoint}: KL {g.KlToReference}"));
        Assert.Equal(3, round.Generation!.Count); // two members and the soup
    }
}
