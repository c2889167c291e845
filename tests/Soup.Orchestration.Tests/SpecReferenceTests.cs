using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Soup.Core.Specs;

namespace Soup.Orchestration.Tests;

/// <summary>
/// The spec is stored once, by its hash, and orchestrations carry the hash and an outline: no spec body, no job list
/// and no evaluation report in history; the dispatch activity plans the jobs from the stored spec.
/// </summary>
public sealed class SpecReferenceTests
{
    [Fact]
    public async Task LargeSpec_PipelineAndRoundInputsAndActivityPayloads_HoldNoMemberSettings()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = HistorySizeTests.LargeSpec(40, rounds: 1);
        spec.Members.Explicit = [.. spec.Members.Explicit!.Select((m, i) => i == 7 ? m with { Optimizer = "adamw-marker-7" } : m)];
        var id = await harness.StartPipelineAsync(spec);
        var ended = await harness.WaitForEndAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, ended.RuntimeStatus);

        // The jobs were planned from the stored spec: member 7 trained with its own optimizer...
        Assert.Contains(harness.Dispatches.SelectMany(d => d), j => j is Soup.Core.Jobs.TrainJob { Settings.Optimizer: "adamw-marker-7" });

        // ...but neither the pipeline's nor the round's input names it, nor any activity request.
        var pipeline = await harness.Client.GetInstanceAsync(id, getInputsAndOutputs: true, TestContext.Current.CancellationToken);
        var round = await harness.Client.GetInstanceAsync(LandingEvents.RoundInstance(id, 1), getInputsAndOutputs: true, TestContext.Current.CancellationToken);
        Assert.DoesNotContain("adamw-marker-7", pipeline!.SerializedInput!, StringComparison.Ordinal);
        Assert.DoesNotContain("adamw-marker-7", round!.SerializedInput!, StringComparison.Ordinal);
        Assert.DoesNotContain("classWeights", pipeline.SerializedInput!, StringComparison.OrdinalIgnoreCase);
        Assert.True(pipeline.SerializedInput!.Length < 2_000, $"the pipeline's input is {pipeline.SerializedInput.Length} characters");
        Assert.Equal(SpecHash.Compute(spec), pipeline.ReadInputAs<PipelineInput>()!.SpecHash);
    }

    [Fact]
    public async Task TwoPipelinesOfOneSpec_StoreOneBlob()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1);
        var a = await harness.StartPipelineAsync(spec);
        var b = await harness.StartPipelineAsync(spec with { });
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await harness.WaitForEndAsync(a)).RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await harness.WaitForEndAsync(b)).RuntimeStatus);
        Assert.Equal([BlobSpecStore.BlobName(SpecHash.Compute(spec))], harness.Specs.BlobNames);
        Assert.Equal(1, harness.Specs.Writes);
    }

    [Fact]
    public async Task SpecBlobMissing_PipelineFailsSayingSo_WithoutRetrying()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var spec = TestSpecs.Create(rounds: 1, initCheckpoint: "given/init.safetensors");
        var hash = await harness.Specs.PutAsync(spec, TestContext.Current.CancellationToken);
        harness.Specs.Delete(hash);
        await harness.Client.ScheduleNewOrchestrationInstanceAsync(
            TaskNames.Pipeline, new PipelineInput(hash, SpecOutline.Of(spec)), new StartOrchestrationOptions("lost-spec"), TestContext.Current.CancellationToken);

        var ended = await harness.WaitForEndAsync("lost-spec");
        Assert.Equal(OrchestrationRuntimeStatus.Failed, ended.RuntimeStatus);
        Assert.Contains($"'specs/{hash}.json' does not exist", ended.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(1, harness.Calls(TaskNames.DispatchJobs));
    }

    [Fact]
    public void Plan_RepeatedRequest_PlansTheSameJobs_AndSlotsNarrowIt()
    {
        var spec = HistorySizeTests.LargeSpec(5, rounds: 1);
        var request = new DispatchRequest(SpecHash.Compute(spec), "p", JobStages.Members, 1, "init.safetensors", HeartbeatTimeout: TimeSpan.FromMinutes(3));
        var first = JobPlanner.Plan(spec, request);
        Assert.Equal(first, JobPlanner.Plan(spec, request));
        Assert.Equal(JobPlanner.Slots(SpecOutline.Of(spec), JobStages.Members, 1), [.. first.Select(j => j.Slot)]);
        Assert.All(first, j => Assert.Equal(TimeSpan.FromMinutes(3), j.HeartbeatTimeout));
        var again = JobPlanner.Plan(spec, request with { Slots = [first[3].Slot] });
        Assert.Equal([first[3]], again);
    }

    [Fact]
    public async Task List_ShowsEachPipelinesName_FromItsStatus()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var id = await harness.StartPipelineAsync(TestSpecs.Create(rounds: 1) with { Name = "listed-name" });
        await harness.WaitForEndAsync(id);
        var api = new PipelineApi(harness.Client, null!);
        var list = (PipelineList)(await api.ListAsync(null, TestContext.Current.CancellationToken)).Body!;
        Assert.Equal("listed-name", Assert.Single(list.Pipelines, p => p.Id == id).Name);
    }

    /// <summary>
    /// Listing fetches no instance's input or output (a pipeline's input was its whole spec, its output every round's
    /// result): the query asks for none and no pipeline is read on its own, yet every name is shown.
    /// </summary>
    [Fact]
    public async Task List_FetchesNoInputsOrOutputs()
    {
        await using var harness = await PipelineHarness.StartAsync();
        var ids = new List<string>();
        foreach (var name in new[] { "first", "second", "third" })
            ids.Add(await harness.StartPipelineAsync(HistorySizeTests.LargeSpec(20, rounds: 1) with { Name = name }));
        foreach (var id in ids)
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await harness.WaitForEndAsync(id)).RuntimeStatus);

        var client = new RecordingClient(harness.Client);
        var list = (PipelineList)(await new PipelineApi(client, null!).ListAsync("Completed", TestContext.Current.CancellationToken)).Body!;

        Assert.Equal(["first", "second", "third"], ids.Select(id => Assert.Single(list.Pipelines, p => p.Id == id).Name));
        Assert.All(client.Queries, q => Assert.False(q.FetchInputsAndOutputs));
        Assert.NotEmpty(client.Queries);
        Assert.DoesNotContain(client.Reads, r => r.WithInputs);
    }
}
