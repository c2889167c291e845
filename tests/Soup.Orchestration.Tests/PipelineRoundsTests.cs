using Microsoft.DurableTask.Client;
using Soup.Core.Storage;

namespace Soup.Orchestration.Tests;

/// <summary>Rounds run as sub-orchestrations; the pipeline keeps every round and names the soup it delivers and why.</summary>
public sealed class PipelineRoundsTests
{
    [Fact]
    public async Task RunAsync_ThreeRounds_EachRoundIsASubOrchestrationWithADeterministicId()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 3, members: 2);

        var id = await harness.StartPipelineAsync(spec);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var result = harness.Result(metadata)!;
        Assert.Equal([1, 2, 3], result.Rounds.Select(r => r.Round));
        for (var round = 1; round <= 3; round++)
        {
            var instance = await harness.Client.GetInstanceAsync($"{id}:round-{round:D2}", getInputsAndOutputs: true, TestContext.Current.CancellationToken);
            Assert.NotNull(instance);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
            Assert.Equal(TaskNames.Round, instance.Name);
            var own = instance.ReadOutputAs<RoundResult>()!;
            Assert.Equal(result.Rounds[round - 1].Soup, own.Soup);
            Assert.Equal(result.Rounds[round - 1].SoupAccuracy, own.SoupAccuracy);
            Assert.Equal("completed", instance.ReadCustomStatusAs<PipelineProgress>()!.Phase);
        }
    }

    [Fact]
    public async Task RunAsync_ValidationSplitMiddleRoundBest_DeliversTheBestSoupAndSaysWhy()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 3, members: 2); // scored on "validation"
        var id = $"best-{Guid.NewGuid():N}";
        double[] soups = [0.81, 0.93, 0.88];
        for (var round = 1; round <= 3; round++)
        {
            harness.Score(Soup(id, round), soups[round - 1]);
        }

        await harness.StartPipelineAsync(spec, id);
        var metadata = await harness.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        var result = harness.Result(metadata)!;
        Assert.Equal(soups, result.Rounds.Select(r => r.SoupAccuracy));
        Assert.Equal(Soup(id, 2), result.FinalCheckpoint);
        var choice = result.Choice!;
        Assert.Equal((2, Soup(id, 2), 0.93, "validation"), (choice.Round, choice.Checkpoint, choice.Accuracy, choice.Split));
        Assert.Contains("best validation accuracy", choice.Reason, StringComparison.Ordinal);
        Assert.Equal(Soup(id, 2), result.Rounds[2].Init); // round 3 still starts from round 2's soup

        var progress = metadata.ReadCustomStatusAs<PipelineProgress>()!;
        Assert.Equal(("completed", 2, 0.93, 0.88), (progress.Phase, progress.BestRound, progress.BestSoupAccuracy, progress.LastSoupAccuracy));
    }

    [Fact]
    public async Task RunAsync_TestSplit_DeliversTheLastSoupAndSaysWhyNotTheBest()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 2, members: 2);
        spec.Data.EvalSplit = "test";
        var id = $"last-{Guid.NewGuid():N}";
        harness.Score(Soup(id, 1), 0.9);
        harness.Score(Soup(id, 2), 0.7);

        await harness.StartPipelineAsync(spec, id);
        var metadata = await harness.WaitForEndAsync(id);

        var result = harness.Result(metadata)!;
        Assert.Equal(Soup(id, 2), result.FinalCheckpoint);
        Assert.Equal(2, result.Choice!.Round);
        Assert.Contains("last round", result.Choice.Reason, StringComparison.Ordinal);
        Assert.Contains("'test'", result.Choice.Reason, StringComparison.Ordinal);
        Assert.Equal(1, metadata.ReadCustomStatusAs<PipelineProgress>()!.BestRound);
    }

    [Fact]
    public async Task Progress_SecondRoundRunning_ShowsTheRoundsCountsAndTheBestSoFar()
    {
        await using var harness = await PipelineHarness.StartAsync(
            worker: job => job.Slot.StartsWith("round-02/member-", StringComparison.Ordinal) ? [] : [PipelineHarness.Landed(job)]);
        var spec = TestSpecs.Create(rounds: 2, members: 2, initCheckpoint: "bases/model.safetensors");
        var id = $"live-{Guid.NewGuid():N}";
        harness.Score(Soup(id, 1), 0.75);
        await harness.StartPipelineAsync(spec, id);

        var expected = new PipelineProgress("training", 2, 2, 0, 0, 2, 0.75, null, $"{id}:round-02", 1, 1, 0.75, "orch-test");
        await harness.WaitForDispatchesAsync(3);

        Assert.Equal(expected, await harness.WaitForProgressAsync(id, p => p == expected));
        foreach (var job in harness.Dispatches[2])
        {
            await harness.RaiseAsync(id, PipelineHarness.Landed(job));
        }

        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await harness.WaitForEndAsync(id)).RuntimeStatus);
    }

    [Fact]
    public void Cut_LongMessage_StaysWithinTheLimit()
    {
        var cut = PipelineProgress.Cut(new string('x', 20_000))!;

        Assert.Equal(PipelineProgress.MaxMessageChars, cut.Length);
        Assert.Equal("short", PipelineProgress.Cut("short"));
        Assert.Null(PipelineProgress.Cut(null));
    }

    private static string Soup(string id, int round) =>
        CheckpointLayout.Blob(id, CheckpointLayout.SoupSlot(round), CheckpointLayout.CheckpointFile);
}
