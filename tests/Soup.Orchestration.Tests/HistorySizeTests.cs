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

    /// <summary>
    /// A 256-member, 2-round pipeline's history holds no per-member results: rounds' results travel as summaries
    /// (<see cref="RoundResults"/>), so the pipeline's output and a round's are as small as a 2-member pipeline's, and the
    /// whole history costs well under 512 bytes per member and round (it was ~3,300 when full results travelled: 1,695,953
    /// bytes). What still grows with the members: the merge's member list and the evaluation's checkpoint list.
    /// </summary>
    [Fact]
    public async Task PipelineOf256Members_History_HoldsNoPerMemberResults()
    {
        const int members = 256;
        await using var harness = await PipelineHarness.StartAsync();
        var id = await harness.StartPipelineAsync(LargeSpec(members));
        var metadata = await harness.WaitForEndAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);

        var (pipeline, rounds) = await MeasureAsync(harness, id, 2);
        output.WriteLine($"history bytes, {members} members, 2 rounds: pipeline {pipeline:N0}, rounds {rounds:N0}, total {pipeline + rounds:N0}");
        foreach (var (name, bytes) in harness.ActivityPayloadBytesByName().OrderByDescending(p => p.Value))
            output.WriteLine($"  {name}: {bytes:N0}");
        var roundIo = await harness.Client.GetInstanceAsync(LandingEvents.RoundInstance(id, 1), getInputsAndOutputs: true, TestContext.Current.CancellationToken);
        output.WriteLine($"  pipeline output {metadata.SerializedOutput?.Length:N0}, round 1 output {roundIo?.SerializedOutput?.Length:N0}");
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "soup-history-size.txt"), $"{pipeline} {rounds}\n");

        Assert.InRange(metadata.SerializedOutput!.Length, 1, 4096);
        Assert.InRange(roundIo!.SerializedOutput!.Length, 1, 2048);
        Assert.InRange(pipeline + rounds, 1, members * 2 * 512);

        // The results are not lost: the stored round has every member.
        var full = harness.Result(metadata)!;
        Assert.All(full.Rounds, r => Assert.Equal(members, r.Members.Count));
        Assert.All(metadata.ReadOutputAs<PipelineResult>()!.Rounds, r => Assert.Empty(r.Members));
    }
}
