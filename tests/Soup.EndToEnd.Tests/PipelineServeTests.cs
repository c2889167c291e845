using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Soup.Cli.Commands;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Local;

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
        await using var server = await PipelineServer.StartAsync(fixture.NewConfiguration(workers: 0), "http://127.0.0.1:0", Security, cancellationToken: Cancel);
        var address = Assert.Single(server.Addresses);
        Assert.Equal("127.0.0.1", address.Host);
        using var http = Client(address);
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
        await using var server = await PipelineServer.StartAsync(fixture.NewConfiguration(workers: 0), "http://127.0.0.1:0", Security, cancellationToken: Cancel);
        using var http = Client(Assert.Single(server.Addresses));
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

    [Fact]
    public async Task Serve_RefusesWhatAWebPageOrAStrangerCouldSend_AllAsProblemJson_AndStartsNothing()
    {
        await using var server = await PipelineServer.StartAsync(fixture.NewConfiguration(workers: 0), "http://127.0.0.1:0", Security, cancellationToken: Cancel);
        var address = Assert.Single(server.Addresses);
        using var anonymous = new HttpClient { BaseAddress = address };
        using var http = Client(address);
        var spec = ApiEngineFixture.SpecJson("guarded");

        // No token, a wrong token: 401 with a challenge.
        using var none = await anonymous.PostAsync(new Uri("/api/pipelines", UriKind.Relative), new StringContent(spec, Encoding.UTF8, "application/json"), Cancel);
        await AssertProblemAsync(none, HttpStatusCode.Unauthorized, "Token required");
        Assert.Equal("Bearer", Assert.Single(none.Headers.WwwAuthenticate).Scheme);
        using var wrong = await SendAsync(anonymous, HttpMethod.Get, "/api/pipelines", headers: [("Authorization", "Bearer " + new string('0', 32))]);
        await AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "Token required");
        using var functionsKey = await SendAsync(anonymous, HttpMethod.Get, "/api/pipelines", headers: [("x-functions-key", Token)]);
        Assert.Equal(HttpStatusCode.OK, functionsKey.StatusCode);

        // A simple cross-site POST (text/plain, no preflight) from a web page: refused for its origin, and for its type.
        using var crossSite = await SendAsync(http, HttpMethod.Post, "/api/pipelines", new StringContent(spec, Encoding.UTF8, "text/plain"), [("Origin", "http://evil.example")]);
        await AssertProblemAsync(crossSite, HttpStatusCode.Forbidden, "Foreign origin");
        using var textPlain = await SendAsync(http, HttpMethod.Post, "/api/pipelines", new StringContent(spec, Encoding.UTF8, "text/plain"));
        await AssertProblemAsync(textPlain, HttpStatusCode.UnsupportedMediaType, "JSON only");
        using var sameOrigin = await SendAsync(http, HttpMethod.Get, "/api/pipelines", headers: [("Origin", $"http://localhost:{address.Port}")]);
        Assert.Equal(HttpStatusCode.OK, sameOrigin.StatusCode);

        // DNS rebinding: a foreign name that resolves here is refused, and never copied into a Location.
        using var rebound = await SendAsync(http, HttpMethod.Post, "/api/pipelines", new StringContent(spec, Encoding.UTF8, "application/json"), [("Host", $"evil.example:{address.Port}")]);
        await AssertProblemAsync(rebound, HttpStatusCode.BadRequest, "Unknown Host");
        Assert.Null(rebound.Headers.Location);

        // Bodies over 1 MiB (declared or chunked), unknown routes and wrong methods: the server's own answers, as problem+json.
        var big = "{\"name\": \"" + new string('a', PipelineApi.MaxBodyBytes) + "\"}";
        // Expect: 100-continue, as a client sending a large body should: Kestrel refuses the declared length before asking
        // for the body, so the 413 comes back without the client writing into a connection the server has closed.
        using var declared = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/pipelines", UriKind.Relative)) { Content = new StringContent(big, Encoding.UTF8, "application/json") };
        declared.Headers.ExpectContinue = true;
        using var tooLarge = await http.SendAsync(declared, Cancel);
        await AssertProblemAsync(tooLarge, HttpStatusCode.RequestEntityTooLarge, "Request body too large");
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/pipelines", UriKind.Relative)) { Content = chunked };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var tooLargeChunked = await http.SendAsync(chunkedRequest, Cancel);
        await AssertProblemAsync(tooLargeChunked, HttpStatusCode.RequestEntityTooLarge, "Request body too large");
        using var notFound = await SendAsync(http, HttpMethod.Get, "/api/nothing-here");
        await AssertProblemAsync(notFound, HttpStatusCode.NotFound, "Not found");
        using var wrongMethod = await SendAsync(http, HttpMethod.Delete, "/api/pipelines");
        await AssertProblemAsync(wrongMethod, HttpStatusCode.MethodNotAllowed, "Method not allowed");

        // None of it started anything.
        using var list = await SendAsync(http, HttpMethod.Get, "/api/pipelines");
        Assert.DoesNotContain((await JsonAsync(list)).RootElement.GetProperty("pipelines").EnumerateArray(), p => p.GetProperty("name").GetString() is "guarded" or "a");
    }

    [Fact]
    public async Task Serve_NoAuth_AnswersWithoutAToken_ButKeepsTheHostCheck()
    {
        await using var server = await PipelineServer.StartAsync(fixture.NewConfiguration(workers: 0), "http://127.0.0.1:0", ServeSecurity.NoAuth, cancellationToken: Cancel);
        var address = Assert.Single(server.Addresses);
        using var anonymous = new HttpClient { BaseAddress = address };

        using var list = await anonymous.GetAsync(new Uri("/api/pipelines", UriKind.Relative), Cancel);
        using var rebound = await SendAsync(anonymous, HttpMethod.Get, "/api/pipelines", headers: [("Host", $"evil.example:{address.Port}")]);

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        await AssertProblemAsync(rebound, HttpStatusCode.BadRequest, "Unknown Host");
    }

    private const string Token = "0123456789abcdef0123456789abcdef";

    private static ServeSecurity Security { get; } = new(Token);

    private static HttpClient Client(Uri address)
    {
        var http = new HttpClient { BaseAddress = address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, HttpContent? content = null, (string Name, string Value)[]? headers = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        foreach (var (name, value) in headers ?? [])
        {
            if (name == "Host")
                request.Headers.Host = value;
            else
                request.Headers.TryAddWithoutValidation(name, value);
        }

        return await http.SendAsync(request, Cancel);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string title)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = await JsonAsync(response);
        Assert.Equal(title, body.RootElement.GetProperty("title").GetString());
        Assert.Equal((int)status, body.RootElement.GetProperty("status").GetInt32());
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
