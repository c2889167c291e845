using System.Net;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Functions.Tests;

/// <summary>
/// The HTTP functions themselves, called as the isolated worker calls them, on the in-memory Durable engine with the
/// real orchestration and storage on Azurite: they map <see cref="PipelineApi"/>'s results to status codes, content
/// types, <c>Location</c> and bodies.
/// </summary>
public sealed class PipelineHttpFunctionsTests(FunctionsEngineFixture engine) : IClassFixture<FunctionsEngineFixture>
{
    private const string Pipelines = "http://localhost:7071/api/pipelines";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StartPipeline_InvalidSpec_Answers400WithEveryProblemAndStartsNothing()
    {
        var request = engine.Request("POST", Pipelines, """{ "name": "Bad Name", "rounds": 100, "members": { "learningRates": [] } }""");

        // No Durable client: a valid spec would need one to start, so reaching it would throw.
        var response = (FakeHttpResponse)await PipelineHttpFunctions.StartPipeline(request, client: null!, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertProblem(response);
        using var body = JsonDocument.Parse(response.ReadBody());
        Assert.Equal(400, body.RootElement.GetProperty("status").GetInt32());
        var paths = body.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Equal(["$.name", "$.rounds", "$.members.learningRates"], paths);
    }

    [Fact]
    public async Task StartPipeline_BodyOverOneMiB_Answers413AndStartsNothing()
    {
        var request = engine.Request("POST", Pipelines, "{\"name\": \"" + new string('a', PipelineApi.MaxBodyBytes) + "\"}");

        var response = (FakeHttpResponse)await PipelineHttpFunctions.StartPipeline(request, client: null!, Cancel);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        AssertProblem(response);
        Assert.Contains("1,048,576 bytes", response.ReadBody(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartPipeline_OverTheWorkBudget_Answers400NamingTheSetting()
    {
        // 256 members × 50 rounds × 1,000,000 steps: every field within its own limit, the product far over the budget.
        var request = engine.Request("POST", Pipelines, """{ "name": "huge", "rounds": 50, "members": { "count": 256, "steps": 1000000 } }""");

        var response = (FakeHttpResponse)await PipelineHttpFunctions.StartPipeline(request, client: null!, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(response.ReadBody());
        var messages = body.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("message").GetString()!).ToList();
        Assert.Contains(messages, m => m.Contains("12,800,000,200 training steps", StringComparison.Ordinal) && m.Contains(nameof(PipelineLimits.MaxPipelineTrainingSteps), StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartPipeline_MalformedJson_Answers400NamingThePosition()
    {
        var request = engine.Request("POST", Pipelines, """{ "name": "ok", "rounds": """);

        var response = (FakeHttpResponse)await PipelineHttpFunctions.StartPipeline(request, client: null!, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(response.ReadBody());
        var error = body.RootElement.GetProperty("errors")[0];
        Assert.Contains("line 1", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartPipeline_SameIdempotencyKey_Answers202WithTheSameIdAndStatusUrl()
    {
        var key = "fn-" + Guid.NewGuid();

        var first = await StartAsync(key);
        var second = await StartAsync(key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        using var a = JsonDocument.Parse(first.ReadBody());
        using var b = JsonDocument.Parse(second.ReadBody());
        var id = a.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(id, b.RootElement.GetProperty("id").GetString());
        Assert.Equal(PipelineStarter.PipelineIdForKey(key), id);
        Assert.True(a.RootElement.GetProperty("created").GetBoolean());
        Assert.False(b.RootElement.GetProperty("created").GetBoolean());
        Assert.Equal($"{Pipelines}/{id}", a.RootElement.GetProperty("statusUri").GetString());
        Assert.Equal($"{Pipelines}/{id}", first.Headers.GetValues("Location").Single());
        Assert.StartsWith("application/json", first.Headers.GetValues("Content-Type").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetPipeline_UnknownId_Answers404Problem()
    {
        var response = (FakeHttpResponse)await PipelineHttpFunctions.GetPipeline(engine.Request("GET", $"{Pipelines}/nope"), "nope", engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        AssertProblem(response);
        Assert.Contains("'nope'", response.ReadBody(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetPipeline_StartedPipeline_Answers200WithItsStatus()
    {
        var id = await StartedIdAsync();

        var response = (FakeHttpResponse)await PipelineHttpFunctions.GetPipeline(engine.Request("GET", $"{Pipelines}/{id}"), id, engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(response.ReadBody());
        Assert.Equal(id, body.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task GetPipelineReport_UnknownId_Answers404Problem()
    {
        var response = (FakeHttpResponse)await PipelineHttpFunctions.GetPipelineReport(engine.Request("GET", $"{Pipelines}/nope/report"), "nope", engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        AssertProblem(response);
    }

    [Fact]
    public async Task GetPipelineReport_RunningPipeline_Answers200HtmlSayingRoundsArePending()
    {
        var id = await StartedIdAsync();

        var response = (FakeHttpResponse)await PipelineHttpFunctions.GetPipelineReport(engine.Request("GET", $"{Pipelines}/{id}/report"), id, engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Headers.GetValues("Content-Type").Single());
        var html = response.ReadBody();
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains($"<title>Pipeline {id} report</title>", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Rounds</h2>\n<p class=\"pending\">Pending: ", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListPipelines_UnknownStatus_Answers400()
    {
        var response = (FakeHttpResponse)await PipelineHttpFunctions.ListPipelines(engine.Request("GET", $"{Pipelines}?status=Sleeping"), engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertProblem(response);
        Assert.Contains("'Sleeping'", response.ReadBody(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListPipelines_ByStatus_ListsTheMatchingPipelines()
    {
        var id = await StartedIdAsync();
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);

        var running = (FakeHttpResponse)await PipelineHttpFunctions.ListPipelines(engine.Request("GET", $"{Pipelines}?status=Running"), engine.Client, Cancel);
        var completed = (FakeHttpResponse)await PipelineHttpFunctions.ListPipelines(engine.Request("GET", $"{Pipelines}?status=Completed"), engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.OK, running.StatusCode);
        Assert.Contains(Ids(running), i => i == id);
        Assert.DoesNotContain(Ids(completed), i => i == id);
    }

    [Fact]
    public async Task CancelPipeline_UnknownId_Answers404()
    {
        var response = (FakeHttpResponse)await PipelineHttpFunctions.CancelPipeline(engine.Request("POST", $"{Pipelines}/nope/cancel"), "nope", engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        AssertProblem(response);
    }

    [Fact]
    public async Task CancelPipeline_Running_Answers202AndTerminates_ThenAgain409()
    {
        var id = await StartedIdAsync();
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);

        var response = (FakeHttpResponse)await PipelineHttpFunctions.CancelPipeline(
            engine.Request("POST", $"{Pipelines}/{id}/cancel?code=secret", """{"reason":"by test"}"""), id, engine.Client, Cancel);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"{Pipelines}/{id}", response.Headers.GetValues("Location").Single());
        Assert.DoesNotContain("secret", response.ReadBody(), StringComparison.Ordinal);
        Assert.True(await engine.Storage.Checkpoints.GetBlobClient(CancellationMarker.BlobName(id)).ExistsAsync(Cancel));
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Terminated);

        var again = (FakeHttpResponse)await PipelineHttpFunctions.CancelPipeline(engine.Request("POST", $"{Pipelines}/{id}/cancel"), id, engine.Client, Cancel);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        AssertProblem(again);
    }

    private async Task<FakeHttpResponse> StartAsync(string? key)
    {
        var request = engine.Request("POST", Pipelines, FunctionsEngineFixture.SpecJson());
        if (key is not null)
            request.Headers.Add(PipelineApi.IdempotencyKeyHeader, key);
        return (FakeHttpResponse)await PipelineHttpFunctions.StartPipeline(request, engine.Client, Cancel);
    }

    private async Task<string> StartedIdAsync()
    {
        var response = await StartAsync(key: null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(response.ReadBody());
        return body.RootElement.GetProperty("id").GetString()!;
    }

    private async Task WaitForStatusAsync(string id, OrchestrationRuntimeStatus status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await engine.Client.GetInstanceAsync(id, Cancel))?.RuntimeStatus != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"pipeline '{id}' did not become {status} within 30 s");
            await Task.Delay(100, Cancel);
        }
    }

    private static List<string?> Ids(FakeHttpResponse response)
    {
        using var body = JsonDocument.Parse(response.ReadBody());
        return [.. body.RootElement.GetProperty("pipelines").EnumerateArray().Select(p => p.GetProperty("id").GetString())];
    }

    private static void AssertProblem(FakeHttpResponse response) =>
        Assert.StartsWith("application/problem+json", response.Headers.GetValues("Content-Type").Single(), StringComparison.Ordinal);
}
