using Microsoft.DurableTask.Client;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.EndToEnd.Tests;

/// <summary>What a test that plays a worker writes on a landing: the stamp a worker would write (<see cref="LandingStamp"/>).</summary>
internal static class TestLandings
{
    /// <summary>The stamp of <paramref name="slot"/>'s outputs in <paramref name="pipelineId"/>: its job id and the spec hash of the pipeline's input.</summary>
    public static async Task<Dictionary<string, string>> StampAsync(DurableTaskClient client, string pipelineId, string slot)
    {
        var instance = await client.GetInstanceAsync(pipelineId, getInputsAndOutputs: true, TestContext.Current.CancellationToken)
            ?? throw new InvalidOperationException($"no instance {pipelineId}");
        var hash = instance.ReadInputAs<PipelineInput>()?.SpecHash ?? throw new InvalidOperationException($"{pipelineId} has no spec hash in its input");
        return LandingStamp.Of($"{pipelineId}/{slot}", hash);
    }
}
