using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Training.Text;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// WARM with the preference pairs made by the pipeline itself, on real parts: a GPT-2 language model pretrained on a
/// corpus's topics, two completions per held-out prompt sampled from it and labelled by a gold reward with a fraction
/// flipped (a pairs job of the real workers), reward models from that language model trained on the noisy pairs, and
/// the soup scored on clean pairs of other prompts and of shifted prompts (another topic).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class WarmPairsEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Run_PreferencesSection_PretrainsThePolicySamplesPairsAndTrainsRewardModelsOnThem()
    {
        var corpus = "corpus-" + Guid.NewGuid().ToString("N")[..8];
        var (daily, tales) = WriteCorpus(Path.Combine(fixture.DataRoot, corpus));
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-warm-pairs", "seed": 3, "rounds": 1, "task": "reward-modelling", "recipe": "warm",
              "model": "gpt2-tiny",
              "data": { "dataset": "pairs:train", "layout": "preferences", "validationFraction": 0.25, "evalSplit": "validation" },
              "init": { "pretrainSteps": 4, "learningRate": 0.001 },
              "preferences": {
                "corpus": "{{corpus}}", "topics": ["daily.txt"], "reward": "conciseness-6", "noise": 0.25,
                "trainPairs": 48, "testPairs": 12, "promptTokens": 4, "maxNewTokens": 12,
                "shifted": { "topics": ["tales.txt"], "pairs": 10 }
              },
              "members": { "count": 2, "steps": 6, "batchSize": 8, "optimizer": "adamw", "learningRates": [0.001, 0.003] },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var view = await AzuriteEngineFixture.RunToEndAsync(engine, parsed.Spec!, TimeSpan.FromMinutes(6));
        var id = view.Id;
        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");

        // The init is a language model pretrained on the in-distribution topic's training part (no scalar head).
        var init = await CheckpointAsserts.ReadAsync(storage.Checkpoints, $"{id}/init/model.safetensors");
        Assert.DoesNotContain(init.Tensors, t => t.Name == "score.weight");
        Assert.Equal(("text", corpus, "daily.txt", "in"), (init.Metadata["layout"], init.Metadata["dataset"], init.Metadata["domains"], init.Metadata["part"]));
        Assert.Equal("adamw", init.Metadata["optimizer"]);

        // The pairs job's report and datasets: the counts asked for, a quarter of the training labels flipped, and the
        // noisy pairs the clean ones with exactly those pairs swapped.
        var report = System.Text.Json.JsonSerializer.Deserialize(
            (await storage.Checkpoints.GetBlobClient($"{id}/init/pairs/results.json").DownloadContentAsync(TestContext.Current.CancellationToken)).Value.Content.ToStream(), SoupJson.Default.PairsReport);
        Assert.Equal((48, 12, 10, 12, "policy", $"{id}/init/model.safetensors"), (report!.Train, report.Test, report.Shifted, report.Flipped, report.Completions, report.Policy));
        Assert.Equal(report, view.Pairs);
        Assert.Equal(report, (await PipelineStatusReader.ReadAsync(engine.Client, storage, id, TestContext.Current.CancellationToken))!.Pairs); // what status, the API and `run` show
        var progress = System.Text.Json.JsonSerializer.Deserialize(
            (await storage.Checkpoints.GetBlobClient($"{id}/init/pairs/progress.json").DownloadContentAsync(TestContext.Current.CancellationToken)).Value.Content.ToStream(), SoupJson.Default.JobProgress);
        Assert.Equal(("pairs", 70, 70), (progress!.Unit, progress.Step, progress.TotalSteps)); // its heartbeat counted the pairs as it made them
        var train = await ReadPairsAsync(storage, id, PairDatasets.Train);
        var clean = await ReadPairsAsync(storage, id, PairDatasets.Clean);
        var test = await ReadPairsAsync(storage, id, PairDatasets.Test);
        var shifted = await ReadPairsAsync(storage, id, PairDatasets.Shifted);
        Assert.Equal((48, 48, 12, 10), (train.Count, clean.Count, test.Count, shifted.Count));
        Assert.Equal(12, train.Zip(clean).Count(p => p.First != p.Second));
        Assert.All(train.Zip(clean).Where(p => p.First != p.Second), p => Assert.Equal((p.First.Chosen, p.First.Rejected), (p.Second.Rejected, p.Second.Chosen)));

        // The gold reward labels the clean pairs: the chosen completion is the more concise one.
        var reward = GoldRewards.Get("conciseness-6");
        Assert.All(clean.Concat(test).Concat(shifted), p => Assert.True(reward.Score(p.Chosen) > reward.Score(p.Rejected), $"'{p.Chosen}' vs '{p.Rejected}'"));

        // Prompts come from the held-out documents of their topics: training and test pairs from daily.txt, shifted
        // ones from tales.txt; training and test pairs share no prompt.
        Assert.All(clean.Concat(test), p => Assert.Contains(daily, d => d.StartsWith(p.Prompt.Trim(), StringComparison.Ordinal)));
        Assert.All(shifted, p => Assert.Contains(tales, d => d.StartsWith(p.Prompt.Trim(), StringComparison.Ordinal)));
        Assert.Empty(clean.Select(p => p.Prompt).Intersect(test.Select(p => p.Prompt)));

        // The reward models start from the pretrained language model and are scored on every split of the pairs.
        var round = Assert.Single(view.Result!.Rounds);
        foreach (var member in round.Members)
        {
            var checkpoint = await CheckpointAsserts.ReadAsync(storage.Checkpoints, member.Checkpoint);
            Assert.Contains(checkpoint.Tensors, t => t.Name == "score.weight");
            Assert.Equal(($"{id}/init/model.safetensors", PairDatasets.Train, "preferences"), (checkpoint.Metadata["base_checkpoint"], checkpoint.Metadata["dataset"], checkpoint.Metadata["layout"]));
        }

        Assert.Equal(["validation", "test", "shifted"], view.Result.Splits!.Select(s => s.Name));
        Assert.All(round.Members, m => Assert.Equal(["validation", "test", "shifted"], m.Scores!.Select(s => s.Split)));
    }

    /// <summary>
    /// WARM then RL, both halves real and in miniature: a warm pipeline makes its pairs and reward models, then an RL
    /// pipeline fine-tunes that pipeline's language model (the policy the pairs were sampled from) against its best
    /// reward model and against its WARM soup, the gold reward and both proxies tracked over the steps.
    /// </summary>
    [Fact]
    public async Task Run_WarmThenRl_PoliciesOfTheWarmPipelineOptimiseItsBestRewardModelAndItsSoup_GoldTracked()
    {
        var corpus = "corpus-rl-" + Guid.NewGuid().ToString("N")[..8];
        WriteCorpus(Path.Combine(fixture.DataRoot, corpus));
        var warm = SpecParser.Parse($$"""
            {
              "name": "e2e-warm-for-rl", "seed": 5, "rounds": 1, "recipe": "warm", "model": "gpt2-tiny",
              "data": { "dataset": "pairs:train", "layout": "preferences", "validationFraction": 0.25, "evalSplit": "validation" },
              "init": { "pretrainSteps": 3, "learningRate": 0.001 },
              "preferences": { "corpus": "{{corpus}}", "completions": "corpus", "reward": "conciseness-6", "trainPairs": 40, "testPairs": 8, "promptTokens": 4, "maxNewTokens": 10 },
              "members": { "count": 2, "steps": 4, "batchSize": 8, "optimizer": "adamw", "learningRates": [0.001, 0.003] },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(warm.IsValid, string.Join("; ", warm.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        async Task<PipelineStatusView> RunAsync(PipelineSpec spec)
        {
            var view = await AzuriteEngineFixture.RunToEndAsync(engine, spec, TimeSpan.FromMinutes(4));
            Assert.True(view.RuntimeStatus == "Completed", $"pipeline {view.Id} ended {view.RuntimeStatus}: {view.Failure}");
            return view;
        }

        var rewardModels = Assert.Single((await RunAsync(warm.Spec!)).Result!.Rounds);
        var (policy, best, soup) = (rewardModels.Init, rewardModels.Variants!.Single(v => v.Name == "erm").Checkpoint!, rewardModels.Soup);
        var rl = SpecParser.Parse($$"""
            {
              "name": "e2e-warm-then-rl", "seed": 5, "rounds": 1, "model": "gpt2-tiny",
              "data": { "dataset": "{{corpus}}", "layout": "text", "validationFraction": 0.25, "evalSplit": "validation", "evalLimit": 8 },
              "init": { "checkpoint": "{{policy}}" },
              "rewardModels": [ { "name": "best-rm", "checkpoint": "{{best}}" }, { "name": "warm-rm", "checkpoint": "{{soup}}" } ],
              "members": { "count": 2, "steps": 2, "batchSize": 4, "learningRates": [0.001],
                           "rl": { "samples": 2, "promptsPerStep": 2, "promptTokens": 4, "maxNewTokens": 6, "track": ["conciseness-6", "best-rm", "warm-rm"] },
                           "explicit": [ { "rewards": [ { "reward": "best-rm" } ] }, { "rewards": [ { "reward": "warm-rm" } ] } ] },
              "evaluation": { "generation": { "prompts": 4, "maxNewTokens": 6, "rewards": ["conciseness-6", "best-rm", "warm-rm"], "keep": 1 } },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(rl.IsValid, string.Join("; ", rl.Problems));

        var round = Assert.Single((await RunAsync(rl.Spec!)).Result!.Rounds);

        // One policy against each proxy, both from the warm pipeline's language model; each step's gold reward and both
        // proxies measured on the same completions (the reward-hacking curve), the optimised one equal to its proxy.
        Assert.Equal(policy, round.Init);
        Assert.Equal(["best-rm", "warm-rm"], await Task.WhenAll(round.Members.OrderBy(m => m.Member).Select(async m =>
            (await CheckpointAsserts.ReadAsync(storage.Checkpoints, m.Checkpoint)).Metadata["rl_reward"])));
        foreach (var (member, proxy) in round.Members.OrderBy(m => m.Member).Zip(["best-rm", "warm-rm"]))
        {
            var curve = round.Generation!.Single(g => g.Checkpoint == member.Checkpoint).Training!;
            Assert.Equal(["conciseness-6", "best-rm", "warm-rm"], curve.Tracked);
            Assert.All(curve.Points, p => Assert.Equal(p.Tracked[curve.TrackedIndex(proxy)], p.Reward, 4));
        }

        // The evaluation scores every policy's completions with both reward models as the warm pipeline delivered them.
        using var scorer = RewardModelScorer.Load("warm-rm", "gpt2-tiny", (await CheckpointAsserts.ReadAsync(storage.Checkpoints, soup)).Tensors, soup);
        foreach (var generated in round.Generation!)
        {
            var sample = Assert.Single(generated.Samples);
            Assert.Equal(Assert.Single(scorer.Score([sample.Prompt], [sample.Completion])), sample.Rewards[2], 4);
        }
    }

    [Fact]
    public async Task Run_PreferencesFromATopicTheCorpusLacks_FailsAtThePairsJobNamingTheFile()
    {
        var corpus = "corpus-bad-" + Guid.NewGuid().ToString("N")[..8];
        WriteCorpus(Path.Combine(fixture.DataRoot, corpus));
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-warm-pairs-bad", "seed": 3, "rounds": 1, "model": "gpt2-tiny",
              "data": { "dataset": "pairs:train", "layout": "preferences", "evalSplit": "validation" },
              "init": { "checkpoint": "bases/never-read.safetensors" },
              "preferences": { "corpus": "{{corpus}}", "completions": "corpus", "topics": ["dialy.txt"], "reward": "conciseness", "trainPairs": 8, "testPairs": 4 },
              "members": { "count": 2, "steps": 2, "batchSize": 2, "optimizer": "adamw", "learningRates": [0.001], "retries": 3 },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 1));
        var view = await AzuriteEngineFixture.RunToEndAsync(engine, parsed.Spec!, TimeSpan.FromMinutes(3));

        Assert.Equal("Failed", view.RuntimeStatus);
        Assert.Contains("has no text file 'dialy.txt'", view.Failure ?? "", StringComparison.Ordinal);
        Assert.Contains("init/pairs", view.Failure ?? "", StringComparison.Ordinal);
    }

    private static async Task<List<PreferencePair>> ReadPairsAsync(SoupStorage storage, string id, string dataset)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pairs-{Guid.NewGuid():N}.jsonl");
        try
        {
            await storage.Checkpoints.GetBlobClient(PairDatasets.Blob(id, dataset)).DownloadToAsync(path, TestContext.Current.CancellationToken);
            return [.. PreferencePairs.Read(path)];
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Two topics of short English texts, one document per paragraph: everyday notes, and tales; each starts with its own number, so no two share a prompt.</summary>
    private static (List<string> Daily, List<string> Tales) WriteCorpus(string folder)
    {
        Directory.CreateDirectory(folder);
        string[] subjects = ["The morning bus", "My sister", "The coffee shop", "Our neighbour", "The garden", "This week at work", "The little dog", "Her bicycle"];
        string[] middles = ["was late again", "looked very happy", "had a new sign", "waved at everyone", "needed more water", "felt long and slow", "ran around the park", "made a funny noise"];
        string[] ends = ["and nobody minded.", "so we laughed about it for a while and then went home.", "but the rain came soon after.", "which was nice.", "and I wrote it down in my little notebook before dinner."];
        var random = new Random(11);
        var daily = Enumerable.Range(0, 160).Select(i => $"Day {i}: {subjects[random.Next(subjects.Length)]} {middles[random.Next(middles.Length)]} {ends[random.Next(ends.Length)]}").ToList();
        string[] heroes = ["Once a fox", "Long ago a king", "A brave sailor", "The old wizard", "A tiny mouse"];
        string[] deeds = ["found a golden key", "crossed the silver sea", "lost his crown in the woods", "spoke to the moon"];
        var tales = Enumerable.Range(0, 60).Select(i => $"Tale {i}: {heroes[random.Next(heroes.Length)]} {deeds[random.Next(deeds.Length)]} {ends[random.Next(ends.Length)]}").ToList();
        File.WriteAllText(Path.Combine(folder, "daily.txt"), string.Join("\n\n", daily) + "\n");
        File.WriteAllText(Path.Combine(folder, "tales.txt"), string.Join("\n\n", tales) + "\n");
        return (daily, tales);
    }
}
