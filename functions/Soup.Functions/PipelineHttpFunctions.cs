using System.Net;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Soup.Core.Specs;
using Soup.Orchestration;

namespace Soup.Functions;

/// <summary>The HTTP API: start a pipeline from a spec, read a pipeline's status and progress.</summary>
public static class PipelineHttpFunctions
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary><c>POST /api/pipelines</c>: validates the spec; 400 with every problem, or 202 with the management payload.</summary>
    [Function("StartPipeline")]
    public static async Task<HttpResponseData> StartPipeline(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "pipelines")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        var body = await request.ReadAsStringAsync() ?? "";
        var parsed = SpecParser.Parse(body);
        if (!parsed.IsValid)
        {
            return await JsonAsync(request, HttpStatusCode.BadRequest, SpecProblemDetails.From(parsed.Problems), "application/problem+json", cancellationToken);
        }

        var id = await PipelineStarter.StartAsync(client, parsed.Spec!, cancellationToken: cancellationToken);
        return await client.CreateCheckStatusResponseAsync(request, id, cancellationToken);
    }

    /// <summary><c>GET /api/pipelines/{id}</c>: runtime status, progress (with the running jobs' reports), and the result or the failure.</summary>
    [Function("GetPipeline")]
    public static async Task<HttpResponseData> GetPipeline(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "pipelines/{id}")] HttpRequestData request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        var metadata = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken);
        if (metadata is null)
            return await JsonAsync(request, HttpStatusCode.NotFound, new { title = "No such pipeline", status = 404, id }, "application/problem+json", cancellationToken);

        var view = PipelineStatusView.From(metadata);
        if (!view.IsTerminal && view.Progress is { } progress)
        {
            var reader = request.FunctionContext.InstanceServices.GetRequiredService<JobProgressReader>();
            view = view with { Jobs = await reader.ReadAsync(id, progress.Round, cancellationToken) };
        }

        return await JsonAsync(request, HttpStatusCode.OK, view, "application/json", cancellationToken);
    }

    private static async Task<HttpResponseData> JsonAsync<T>(
        HttpRequestData request, HttpStatusCode status, T body, string contentType, CancellationToken cancellationToken)
    {
        var response = request.CreateResponse(status);
        response.Headers.Add("Content-Type", contentType + "; charset=utf-8");
        await response.WriteStringAsync(JsonSerializer.Serialize(body, Json), cancellationToken);
        return response;
    }
}
