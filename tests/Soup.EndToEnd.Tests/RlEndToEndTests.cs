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
    /// <summary>
    /// Runs a valid spec on a fresh local engine with two workers, to its end (at most 6 minutes), after
    /// <paramref name="prepare"/> has written what it needs to the engine's storage.
    /// </summary>
    private async Task<(PipelineStatusView View, SoupStorage Storage)> RunAsync(SpecParseResult parsed, Func<SoupStorage, Task>? prepare = null)
    {
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        if (prepare is not null)
            await prepare(storage);
        var view = await AzuriteEngineFixture.RunToEndAsync(engine, parsed.Spec!, TimeSpan.FromMinutes(6));
        return (view, storage);
    }

    /// <summary>A text dataset of 160 short lines, under a fresh name.</summary>
    private string Corpus(string prefix, Func<int, string> line)
    {
        var dataset = prefix + Guid.NewGuid().ToString("N")[..8];
        var folder = Directory.CreateDirectory(Path.Combine(fixture.DataRoot, dataset));
        File.WriteAllText(Path.Combine(folder.FullName, "lines.txt"), string.Join("\n\n", Enumerable.Range(0, 160).Select(line)));
        return dataset;
    }

    /// <summary>Writes a seeded gpt2-tiny model (a reward model, or a language model) to <paramref name="blob"/> in the checkpoints container.</summary>
    private static async Task WriteModelAsync(SoupStorage storage, string blob, bool rewardModel, ulong seed)
    {
        Soup.Training.TorchSetup.Initialize();
        using var generator = new TorchSharp.torch.Generator(seed);
        var config = Soup.Training.Text.LanguageModelling.Config("gpt2-tiny");
        using TorchSharp.torch.nn.Module model = rewardModel
            ? new Soup.Training.Models.Gpt2RewardModel(config, initGenerator: generator)
            : new Soup.Training.Models.Gpt2LanguageModel(config, initGenerator: generator);
        using var stream = new MemoryStream();
        Soup.Merging.Checkpoints.Safetensors.Write(stream, Soup.Training.Checkpoints.TorchCheckpoint.ToTensorData(model), new Dictionary<string, string> { ["model"] = "gpt2-tiny" });
        stream.Position = 0;
        await storage.Checkpoints.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        await storage.Checkpoints.GetBlobClient(blob).UploadAsync(stream, TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// A reward model named as a reward (WARM then RL, in miniature): the policy is fine-tuned against a weighted sum of
    /// the model and a gold reward, and the evaluation scores every checkpoint's completions with the model too,
    /// which gives each kept completion the reward the model gives prompt + completion.
    /// </summary>
    [Fact]
    public async Task Run_RlAgainstARewardModelCheckpoint_OptimisesAndReportsItsReward()
    {
        var dataset = Corpus("rm-corpus-", i => $"Day {i}: the garden had {i % 9} roses and {i % 5} tulips in bloom.");
        var (lm, rm) = ("bases/lm.safetensors", "warm/soup.safetensors");
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-rl-rm", "seed": 5, "rounds": 1, "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "checkpoint": "{{lm}}" },
              "rewardModels": [ { "name": "garden-rm", "checkpoint": "{{rm}}" } ],
              "members": { "count": 2, "steps": 2, "batchSize": 4, "learningRates": [0.001],
                           "rl": { "rewards": [ { "reward": "garden-rm", "weight": 1 }, { "reward": "conciseness", "weight": 0.5 } ], "track": ["conciseness", "garden-rm"], "samples": 2, "promptsPerStep": 2, "maxNewTokens": 6 } },
              "evaluation": { "generation": { "prompts": 4, "maxNewTokens": 6, "rewards": ["garden-rm", "conciseness"], "keep": 2 } },
              "roundTimeout": "00:05:00"
            }
            """);

        var (view, storage) = await RunAsync(parsed, async storage =>
        {
            await WriteModelAsync(storage, lm, rewardModel: false, 5);
            await WriteModelAsync(storage, rm, rewardModel: true, 6);
        });

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var round = Assert.Single(view.Result!.Rounds);
        foreach (var member in round.Members)
            Assert.Equal("1·garden-rm+0.5·conciseness", (await CheckpointAsserts.ReadAsync(storage.Checkpoints, member.Checkpoint)).Metadata["rl_reward"]);
        var tensors = (await CheckpointAsserts.ReadAsync(storage.Checkpoints, rm)).Tensors;
        using var scorer = Soup.Training.Text.RewardModelScorer.Load("garden-rm", "gpt2-tiny", tensors, rm);
        Assert.Equal(round.Members.Count + 1, round.Generation!.Count);
        foreach (var generated in round.Generation)
        {
            Assert.Equal(["garden-rm", "conciseness"], generated.Rewards.Select(r => r.Reward));
            Assert.True(double.IsFinite(generated.Rewards[0].Mean));
            Assert.Equal(2, generated.Samples.Count);
            foreach (var sample in generated.Samples)
                Assert.Equal(Assert.Single(scorer.Score([sample.Prompt], [sample.Completion])), sample.Rewards[0], 4);
        }

        // The proxy's and the gold reward's course over training (what shows reward hacking): each step's optimised
        // reward is the weighted sum of the two tracked ones, measured on the same completions.
        foreach (var curve in round.Generation.Where(g => g.Training is not null).Select(g => g.Training!))
        {
            Assert.Equal(("1·garden-rm+0.5·conciseness", 2), (curve.Reward, curve.Points.Count));
            Assert.All(curve.Points, p => Assert.Equal(p.Tracked[1] + (0.5 * p.Tracked[0]), p.Reward, 4));
        }
    }

    /// <summary>A language-model checkpoint named as a reward model fails the members at their first delivery, saying why.</summary>
    [Fact]
    public async Task Run_RewardModelThatIsALanguageModel_FailsTheMembers_NamingTheCheckpoint()
    {
        var dataset = Corpus("rm-bad-", i => $"Line {i} is about the weather on day {i % 30}.");
        const string lm = "bases/lm.safetensors";
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-rl-bad-rm", "seed": 6, "rounds": 1, "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "checkpoint": "{{lm}}" },
              "rewardModels": [ { "name": "not-an-rm", "checkpoint": "{{lm}}" } ],
              "members": { "count": 2, "steps": 2, "learningRates": [0.001], "rl": { "rewards": [ { "reward": "not-an-rm" } ], "samples": 2, "maxNewTokens": 4 } },
              "roundTimeout": "00:05:00"
            }
            """);

        var (view, _) = await RunAsync(parsed, storage => WriteModelAsync(storage, lm, rewardModel: false, 7));

        Assert.Equal("Failed", view.RuntimeStatus);
        Assert.Contains($"'{lm}' has no score.weight: it is a language model, not a reward model", view.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RewardedSoupsOfRlPolicies_OneRewardEach_TheSweepScoredOnBothRewards()
    {
        string[] subjects = ["The cat", "A small dog", "My neighbour", "The old sailor", "Our teacher"];
        var dataset = Corpus("rl-corpus-", i => $"{subjects[i % subjects.Length]} went out at {i % 12} o'clock and came back with {i % 7} apples.");
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-rl", "seed": 3, "rounds": 1, "task": "language-modelling", "recipe": "rewarded", "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "pretrainSteps": 4, "learningRate": 0.001 },
              "members": { "count": 2, "steps": 3, "batchSize": 4, "learningRates": [0.001],
                           "rl": { "samples": 2, "promptsPerStep": 2, "maxNewTokens": 6, "klCoefficient": 0.05, "track": ["lexical-diversity"] },
                           "explicit": [ { "rewards": [ { "reward": "conciseness", "weight": 1 } ] }, { "rewards": [ { "reward": "conciseness", "weight": -1 } ] } ] },
              "soup": { "select": "all", "interpolation": { "from": 0, "to": 1, "points": 3, "morl": [0.25] } },
              "evaluation": { "generation": { "prompts": 4, "maxNewTokens": 6, "rewards": ["conciseness", "lexical-diversity"], "keep": 1 } },
              "roundTimeout": "00:05:00"
            }
            """);
        var (view, storage) = await RunAsync(parsed);

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

        // MORL beside the soups: one RL run at λ = 0.25 on 0.75·conciseness − 0.25·conciseness, not merged, scored like the sweep.
        var morl = Assert.Single(round.Interpolation.Baselines!);
        Assert.Equal((0.25, $"{view.Id}/round-01/morl-000/model.safetensors"), (morl.Lambda, morl.Checkpoint));
        Assert.Equal("0.5·conciseness", (await CheckpointAsserts.ReadAsync(storage.Checkpoints, morl.Checkpoint!)).Metadata["rl_reward"]);
        Assert.Equal(2, round.Members.Count); // the baseline is no member, and the soup merges the two members only
        var front = Soup.Reports.GenerationFront.Of(round)!;
        Assert.Equal((3, 1), (front.Soups.Count, front.Morl.Count));
        // Every RL run's curve came through its checkpoint's metadata: three steps, the tracked reward on each.
        Assert.All(generation.Where(g => g.Checkpoint.Contains("/member-", StringComparison.Ordinal) || g.Checkpoint.Contains("/morl-", StringComparison.Ordinal)), g =>
        {
            Assert.Equal([1, 2, 3], g.Training!.Points.Select(p => p.Step));
            Assert.Equal(["lexical-diversity"], g.Training.Tracked);
            Assert.All(g.Training.Points, p => Assert.InRange(Assert.Single(p.Tracked), 0, 1));
        });
        Assert.Equal(3, generation.Count(g => g.Training is not null));
    }

    [Fact]
    public async Task Run_WarpOfRlPolicies_MovingAnchor_SlerpThenTowardTheInit_Iterated()
    {
        var dataset = Corpus("warp-corpus-", i => $"Line {i} says the boat left at {i % 12} o'clock with {i % 7} people on board.");
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-warp-rl", "seed": 4, "rounds": 2, "recipe": "warp", "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "pretrainSteps": 4, "learningRate": 0.001 },
              "members": { "count": 2, "steps": 2, "batchSize": 4, "learningRates": [0.001, 0.002],
                           "rl": { "rewards": [ { "reward": "conciseness", "weight": 1 } ], "samples": 2, "promptsPerStep": 2, "maxNewTokens": 6, "anchorDecay": 0.9 } },
              "merge": { "method": "nuslerp", "t": 0.5 },
              "soup": { "towardInit": 0.5, "towardInitSweep": [0.75, 0.25] },
              "evaluation": { "generation": { "prompts": 4, "maxNewTokens": 6, "rewards": ["conciseness"], "keep": 1, "klTo": "first-init" } },
              "roundTimeout": "00:05:00"
            }
            """);
        var (view, storage) = await RunAsync(parsed);

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var rounds = view.Result!.Rounds;
        Assert.Equal(2, rounds.Count);
        // Iterated: round 2's policies start from round 1's soup (SLERP, then back toward the init by η), and every
        // round reports the generation reward and the KL of its soup to that round's init.
        Assert.Equal(rounds[0].Soup, rounds[1].Init);
        Assert.All(rounds, r => Assert.Contains(r.Variants!, v => v.Name == "nuslerp+liti" && v.Checkpoint == r.Soup));
        Assert.All(rounds, r => Assert.NotNull(Assert.Single(r.Generation!, g => g.Checkpoint == r.Soup).KlToReference));
        // klTo: first-init: every round's KL is to round 1's init (WARP's reward–KL front across iterations), so round 2's
        // init (round 1's soup) is at a positive KL from it.
        Assert.All(rounds.SelectMany(r => r.Generation!), g => Assert.Equal(rounds[0].Init, g.Reference));
        Assert.True(rounds[0].Generation!.Single(g => g.Checkpoint == rounds[0].Soup).KlToReference > 0);
        // The η sweep: every round scores the LITI models of η = 0.25 and 0.75 beside the delivered η = 0.5 and the merge
        // (η = 1), each by generation too, so the report's reward–KL plot has the front across η.
        Assert.All(rounds, r => Assert.Equal(
            ["nuslerp", "nuslerp+liti", "nuslerp+liti η=0.25", "nuslerp+liti η=0.75"],
            r.Variants!.Select(v => v.Name).Where(n => n.StartsWith("nuslerp", StringComparison.Ordinal))));
        Assert.All(rounds, r => Assert.Equal(
            [null, 0.5, 0.25, 0.75], r.Variants!.Where(v => v.Name.StartsWith("nuslerp", StringComparison.Ordinal)).Select(v => v.TowardInit)));
        Assert.All(rounds, r => Assert.All(r.Variants!.Where(v => v.Name.StartsWith("nuslerp", StringComparison.Ordinal)), v =>
            Assert.Single(r.Generation!, g => g.Checkpoint == v.Checkpoint)));

        // The pipeline's nuslerp is of the members' task vectors around the round's init: the merge equals `pipeline
        // merge -m nuslerp --base init` of the same blobs, and not the SLERP of the weights themselves.
        var folder = Directory.CreateTempSubdirectory("soup-warp-check-").FullName;
        try
        {
            async Task<string> Download(string blob, string name)
            {
                var path = Path.Combine(folder, name);
                await storage.Checkpoints.GetBlobClient(blob).DownloadToAsync(path, TestContext.Current.CancellationToken);
                return path;
            }

            var round = rounds[0];
            var init = await Download(round.Init, "init.safetensors");
            List<string> members = [await Download(round.Members[0].Checkpoint, "m0.safetensors"), await Download(round.Members[1].Checkpoint, "m1.safetensors")];
            var merged = await Download(round.Variants!.Single(v => v.Name == "nuslerp").Checkpoint!, "merged.safetensors");
            async Task<string> Merge(string name, string? @base)
            {
                var path = Path.Combine(folder, name);
                var text = new StringWriter();
                var code = await Soup.Cli.Commands.MergeCommand.ExecuteAsync(
                    new Soup.Cli.Commands.MergeCommandArgs(members, path, new Soup.Merging.MergeParameters { Method = "nuslerp", T = 0.5 }, @base), text, text, TestContext.Current.CancellationToken);
                Assert.True(code == 0, text.ToString());
                return path;
            }

            static List<(string, string)> Tensors(string path) =>
                [.. Soup.Merging.Checkpoints.Safetensors.Read(File.ReadAllBytes(path), path).Tensors.Select(t => (t.Name, Convert.ToBase64String(t.Data.Span)))];
            Assert.Equal(Tensors(await Merge("around-init.safetensors", init)), Tensors(merged));
            Assert.NotEqual(Tensors(await Merge("weights.safetensors", null)), Tensors(merged));

            // Each η of the sweep is LITI of that same merge: init + η·(merge − init).
            var quarter = await Download(round.Variants!.Single(v => v.Name == "nuslerp+liti η=0.25").Checkpoint!, "eta-250.safetensors");
            var liti = Path.Combine(folder, "liti.safetensors");
            var output = new StringWriter();
            Assert.True(0 == await Soup.Cli.Commands.MergeCommand.ExecuteAsync(
                new Soup.Cli.Commands.MergeCommandArgs([merged], liti, new Soup.Merging.MergeParameters { Method = "liti", Eta = 0.25 }, init), output, output, TestContext.Current.CancellationToken), output.ToString());
            Assert.Equal(Tensors(liti), Tensors(quarter));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
