using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Specs;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// A soup of language models on real parts: GPT-2 members fine-tuned by real workers on a text corpus in blob storage
/// (next-token loss), averaged, and scored on held-out text by next-token accuracy and loss, with the ensemble of their
/// next-token distributions, their disagreement and a midpoint, as for classifiers; and by what they generate.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class LanguageModelEndToEndTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    [Fact]
    public async Task Run_BlobTextCorpus_TrainsLanguageModelsAndScoresTheirSoupOnHeldOutText_AndWhatTheyGenerate()
    {
        // The corpus is a blob dataset: workers download it as they do images.
        var prefix = "corpus-" + Guid.NewGuid().ToString("N")[..8];
        var dataset = $"blob:datasets/{prefix}";
        string[] subjects = ["The cat", "A small dog", "My neighbour", "The old sailor", "Our teacher"];
        string[] verbs = ["walks to the market", "sings by the river", "reads a long letter", "paints the blue door"];
        var text = string.Join("\n\n", Enumerable.Range(0, 240).Select(i => $"{subjects[i % subjects.Length]} {verbs[i % verbs.Length]} every morning, and then goes home again."));
        var parsed = SpecParser.Parse($$"""
            {
              "name": "e2e-lm", "seed": 1, "rounds": 1, "recipe": "diwa",
              "model": "gpt2-tiny",
              "data": { "dataset": "{{dataset}}", "layout": "text", "validationFraction": 0.2, "evalSplit": "validation" },
              "init": { "pretrainSteps": 4, "learningRate": 0.001 },
              "members": { "count": 2, "steps": 10, "batchSize": 4, "optimizer": "adamw", "learningRates": [0.001, 0.003] },
              "evaluation": { "generation": { "prompts": 6, "promptTokens": 4, "maxNewTokens": 8, "rewards": ["conciseness", "lexical-diversity"], "keep": 2 } },
              "roundTimeout": "00:05:00"
            }
            """);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Problems));
        await using var engine = await AzuriteEngineFixture.StartEngineAsync(fixture.NewConfiguration(workers: 2));
        var storage = engine.Services.GetRequiredService<SoupStorage>();
        var datasets = storage.Blobs.GetBlobContainerClient("datasets");
        await datasets.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        await datasets.GetBlobClient($"{prefix}/lines.txt").UploadAsync(BinaryData.FromString(text), TestContext.Current.CancellationToken);
        var view = await AzuriteEngineFixture.RunToEndAsync(engine, parsed.Spec!, TimeSpan.FromMinutes(6));

        Assert.True(view.RuntimeStatus == "Completed", $"pipeline ended {view.RuntimeStatus}: {view.Failure}");
        var round = Assert.Single(view.Result!.Rounds);
        foreach (var member in round.Members)
        {
            // Language models: GPT-2 names, the head tied to the token embedding (not saved), no reward head.
            var checkpoint = await CheckpointAsserts.ReadAsync(storage.Checkpoints, member.Checkpoint);
            Assert.Contains(checkpoint.Tensors, t => t.Name == "transformer.wte.weight" && t.Shape.SequenceEqual(new long[] { 50257, 128 }));
            Assert.DoesNotContain(checkpoint.Tensors, t => t.Name.StartsWith("score.", StringComparison.Ordinal) || t.Name == "lm_head.weight");
            var validation = Assert.Single(member.Scores!);
            // Ten steps on a repetitive corpus already predict some next tokens, and the loss is below an untrained
            // model's log(50257) = 10.8.
            Assert.InRange(validation.Accuracy, 0.01, 1);
            Assert.InRange(validation.Loss, 0, 10.5);
        }

        Assert.InRange(round.SoupAccuracy, 0, 1);
        var ensemble = Assert.Single(round.Variants!, v => v.Name == SoupVariant.EnsembleName);
        Assert.InRange(Assert.Single(ensemble.Scores).Accuracy, 0, 1);
        Assert.NotNull(round.Diagnostics?.Disagreement);
        Assert.NotNull(round.Diagnostics?.MidpointAccuracy);

        // Every evaluated checkpoint generated: rewards of its samples, its KL to the round's init (trained members
        // have moved away from it), kept completions; the soup's samples come back with the result.
        var generation = round.Generation!;
        Assert.Equal(round.Members.Select(m => m.Checkpoint).Append(round.Soup).Order(StringComparer.Ordinal), generation.Select(g => g.Checkpoint).Order(StringComparer.Ordinal));
        Assert.All(generation, g =>
        {
            Assert.Equal(["conciseness", "lexical-diversity"], g.Rewards.Select(r => r.Reward));
            Assert.All(g.Rewards, r => Assert.InRange(r.Mean, 0, 1));
            Assert.True(g.KlToReference > 0, $"{g.Checkpoint}: KL {g.KlToReference}");
            Assert.Equal(2, g.Samples.Count);
        });
    }
}
