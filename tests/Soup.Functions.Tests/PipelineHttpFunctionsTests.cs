using System.Net;
using System.Text.Json;

namespace Soup.Functions.Tests;

/// <summary>The HTTP API's answer to a bad spec, from the function itself: 400, problem details, nothing started.</summary>
public sealed class PipelineHttpFunctionsTests
{
    [Fact]
    public async Task StartPipeline_InvalidSpec_Answers400WithEveryProblemAndStartsNothing()
    {
        var request = new FakeHttpRequest("""{ "name": "Bad Name", "rounds": 100, "members": { "learningRates": [] } }""");

        // No Durable client: a valid spec would need one to start, so reaching it would throw.
        var response = (FakeHttpResponse)await PipelineHttpFunctions.StartPipeline(request, client: null!, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("application/problem+json", response.Headers.GetValues("Content-Type").Single(), StringComparison.Ordinal);
        using var body = JsonDocument.Parse(response.ReadBody());
        Assert.Equal(400, body.RootElement.GetProperty("status").GetInt32());
        var paths = body.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Equal(["$.name", "$.rounds", "$.members.learningRates"], paths);
    }

    [Fact]
    public async Task StartPipeline_MalformedJson_Answers400NamingThePosition()
    {
        var request = new FakeHttpRequest("""{ "name": "ok", "rounds": """);

        var response = (FakeHttpResponse)await PipelineHttpFunctions.StartPipeline(request, client: null!, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(response.ReadBody());
        var error = body.RootElement.GetProperty("errors")[0];
        Assert.Contains("line 1", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
