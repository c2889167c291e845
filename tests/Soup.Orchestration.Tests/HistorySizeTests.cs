using Microsoft.DurableTask.Client;
using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>
/// How many bytes a pipeline's history holds (the pipeline's and its rounds', every event serialized as JSON), for a spec
/// with many members: the figure large payloads are measured by.
/// </summary>
public sealed class HistorySizeTests(ITestOutputHelper output)
{
    /// <summary>A large spec: <paramref name="members"/> members, each with explicit settings.</summary>
    internal static PipelineSpec LargeSpec(int members, int rounds = 2)
    {
        var spec = TestSpecs.Create(rounds: rounds, members: members, initCheckpoint: "given/init.safetensors");
        spec.Members.Explicit = [.. Enumerable.Range(0, members).Select(m => new MemberSettings
        {
            LearningRate = 0.001 * (m + 1), WeightDecay = 1e-4, Dropout = 0.1, Seed = 1000 + m,
            ClassWeights = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        })];
        return spec;
    }

    /// <summary>
    /// The payload bytes of the pipeline's history and of its rounds' histories: each instance's input and output (a
    /// round's twice: its parent records them too) and every activity input and output it scheduled. Landing events are
    /// left out (the same before and after).
    /// </summary>
    internal static async Task<(long Pipeline, long Rounds)> MeasureAsync(PipelineHarness harness, string pipelineId, int rounds)
    {
        async Task<long> Io(string id)
        {
            var m = await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
            return (m?.SerializedInput?.Length ?? 0) + (m?.SerializedOutput?.Length ?? 0);
        }

        var pipeline = await Io(pipelineId) + harness.ActivityPayloadBytes(pipelineId);
        long roundBytes = 0;
        for (var r = 1; r <= rounds; r++)
        {
            var instance = LandingEvents.RoundInstance(pipelineId, r);
            var io = await Io(instance);
            pipeline += io;
            roundBytes += io + harness.ActivityPayloadBytes(instance);
        }

        return (pipeline, roundBytes);
    }

    [Fact]
    public async Task PipelineOf256Members_HistorySize_IsReported()
    {
        const int members = 256;
        await using var harness = await PipelineHarness.StartAsync();
        var id = await harness.StartPipelineAsync(LargeSpec(members));
        var metadata = await harness.WaitForEndAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);

        var (pipeline, rounds) = await MeasureAsync(harness, id, 2);
        output.WriteLine($"history bytes, {members} members, 2 rounds: pipeline {pipeline:N0}, rounds {rounds:N0}, total {pipeline + rounds:N0}");
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "soup-history-size.txt"), $"{pipeline} {rounds}\n");
    }
}
