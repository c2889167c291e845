using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Soup.Cli.Commands;
using Soup.Core.Storage;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// <c>pipeline serve</c> in process on a free loopback port, called over real HTTP: the Functions app's routes and
/// answers, from start with an idempotency key to cancellation.
/// </summary>
public sealed class PipelineServeTests(AzuriteEngineFixture fixture) : IClassFixture<AzuriteEngineFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Serve_AnswersEveryRouteOverLoopbackHttp()
    {
        await using var server = await PipelineServer.StartAsync(fixture.NewConfiguration(workers: 0), "http://127.0.0.1:0", cancellationToken: Cancel);
        var address = Assert.Single(server.Addresses);
        Assert.Equal("127.0.0.1", address.Host);
        using var http = new HttpClient { BaseAddress = address };
        var key = "serve-" + Guid.NewGuid();

        // Start twice with the same key: 202 both times, one pipeline.
        using var first = await PostSpecAsync(http, key);
        using var second = await PostSpecAsync(http, key);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        using var accepted = await JsonAsync(first);
        var id = accepted.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(id, (await JsonAsync(second)).RootElement.GetProperty("id").GetString());
        Assert.True(accepted.RootElement.GetProperty("created").GetBoolean());
        Assert.Equal(new Uri(address, $"/api/pipelines/{id}"), first.Headers.Location);

        // An invalid spec: 400 problem details with every problem.
        using var invalid = await http.PostAsync(new Uri("/api/pipelines", UriKind.Relative), new StringContent("""{ "version": 1, "name": "Bad Name" }""", Encoding.UTF8, "application/json"), Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("application/problem+json", invalid.Content.Headers.ContentType?.MediaType);
        Assert.Equal("$.name", (await JsonAsync(invalid)).RootElement.GetProperty("errors")[0].GetProperty("path").GetString());

        // Status, unknown id, list.
        using var status = await http.GetAsync(new Uri($"/api/pipelines/{id}", UriKind.Relative), Cancel);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(id, (await JsonAsync(status)).RootElement.GetProperty("id").GetString());
        using var unknown = await http.GetAsync(new Uri("/api/pipelines/nope", UriKind.Relative), Cancel);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        using var list = await http.GetAsync(new Uri("/api/pipelines?status=Pending,Running", UriKind.Relative), Cancel);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Contains((await JsonAsync(list)).RootElement.GetProperty("pipelines").EnumerateArray(), p => p.GetProperty("id").GetString() == id);
        using var badList = await http.GetAsync(new Uri("/api/pipelines?status=Asleep", UriKind.Relative), Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, badList.StatusCode);

        // Cancel: unknown 404, running 202 then Terminated, again 409.
        using var cancelUnknown = await http.PostAsync(new Uri("/api/pipelines/nope/cancel", UriKind.Relative), null, Cancel);
        Assert.Equal(HttpStatusCode.NotFound, cancelUnknown.StatusCode);
        using var cancel = await http.PostAsync(new Uri($"/api/pipelines/{id}/cancel", UriKind.Relative), new StringContent("""{"reason":"test"}""", Encoding.UTF8, "application/json"), Cancel);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal(CancellationMarker.BlobName(id), (await JsonAsync(cancel)).RootElement.GetProperty("marker").GetString());
        await WaitForStatusAsync(http, id, "Terminated");
        using var cancelAgain = await http.PostAsync(new Uri($"/api/pipelines/{id}/cancel", UriKind.Relative), null, Cancel);
        Assert.Equal(HttpStatusCode.Conflict, cancelAgain.StatusCode);
        Assert.Equal("application/problem+json", cancelAgain.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Serve_Report_AnswersHtmlForAPipelineAnd404ForAnUnknownId()
    {
        await using var server = await PipelineServer.StartAsync(fixture.NewConfiguration(workers: 0), "http://127.0.0.1:0", cancellationToken: Cancel);
        using var http = new HttpClient { BaseAddress = Assert.Single(server.Addresses) };
        using var started = await PostSpecAsync(http, "report-" + Guid.NewGuid());
        var id = (await JsonAsync(started)).RootElement.GetProperty("id").GetString()!;

        using var report = await http.GetAsync(new Uri($"/api/pipelines/{id}/report", UriKind.Relative), Cancel);
        using var unknown = await http.GetAsync(new Uri("/api/pipelines/nope/report", UriKind.Relative), Cancel);

        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal("text/html", report.Content.Headers.ContentType?.MediaType);
        var html = await report.Content.ReadAsStringAsync(Cancel);
        Assert.Contains($"<h1>Pipeline {id}</h1>", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Rounds</h2>\n<p class=\"pending\">Pending: ", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        using var cancel = await http.PostAsync(new Uri($"/api/pipelines/{id}/cancel", UriKind.Relative), null, Cancel);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
    }

    private static async Task<HttpResponseMessage> PostSpecAsync(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/pipelines", UriKind.Relative))
        {
            Content = new StringContent(ApiEngineFixture.SpecJson("serve"), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        return await http.SendAsync(request, Cancel);
    }

    private static async Task<JsonDocument> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));

    private static async Task WaitForStatusAsync(HttpClient http, string id, string expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync(new Uri($"/api/pipelines/{id}", UriKind.Relative), Cancel);
            last = (await JsonAsync(response)).RootElement.GetProperty("runtimeStatus").GetString();
            if (last == expected)
                return;
            await Task.Delay(200, Cancel);
        }

        Assert.Fail($"pipeline '{id}' did not become {expected} within 60 s; it is {last}");
    }
}
