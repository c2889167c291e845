using System.Net;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Soup.Core.Storage;
using Soup.Orchestration;

namespace Soup.Functions;

/// <summary>
/// The HTTP API: start, read, list and cancel pipelines, and read their reports. Each function reads its request, calls <see cref="PipelineApi"/>
/// (the same logic <c>pipeline serve</c> runs) and writes the result back.
/// </summary>
public static class PipelineHttpFunctions
{
    /// <summary><c>POST /api/pipelines</c>: validates the spec; 400 with every problem, or 202 with the pipeline's id and status URL (<c>Idempotency-Key</c> honoured).</summary>
    [Function("StartPipeline")]
    public static async Task<HttpResponseData> StartPipeline(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "pipelines")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (body, problem) = await PipelineApi.ReadBodyAsync(request.Body, cancellationToken);
        if (problem is not null)
            return await WriteAsync(request, problem, cancellationToken);
        var key = request.Headers.TryGetValues(PipelineApi.IdempotencyKeyHeader, out var values) ? string.Join(",", values) : null;
        var result = await Api(request, client).StartAsync(body!, key, PipelinesUri(request), cancellationToken);
        return await WriteAsync(request, result, cancellationToken);
    }

    /// <summary><c>GET /api/pipelines/{id}</c>: runtime status, progress (with the running jobs' reports), and the result or the failure; 404 for an unknown id.</summary>
    [Function("GetPipeline")]
    public static async Task<HttpResponseData> GetPipeline(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "pipelines/{id}")] HttpRequestData request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await WriteAsync(request, await Api(request, client).GetAsync(id, cancellationToken), cancellationToken);
    }

    /// <summary><c>GET /api/pipelines/{id}/report</c>: the pipeline's report, one self-contained HTML page; 404 for an unknown id.</summary>
    [Function("GetPipelineReport")]
    public static async Task<HttpResponseData> GetPipelineReport(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "pipelines/{id}/report")] HttpRequestData request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await WriteAsync(request, await Api(request, client).GetReportAsync(id, cancellationToken), cancellationToken);
    }

    /// <summary><c>GET /api/pipelines?status=Running,Completed</c>: the pipelines, newest first; 400 for an unknown status.</summary>
    [Function("ListPipelines")]
    public static async Task<HttpResponseData> ListPipelines(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "pipelines")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var statuses = request.Query["status"];
        return await WriteAsync(request, await Api(request, client).ListAsync(statuses, cancellationToken), cancellationToken);
    }

    /// <summary><c>POST /api/pipelines/{id}/cancel</c>: 404 unknown, 409 already ended, else 202 (marker written, orchestration terminated).</summary>
    [Function("CancelPipeline")]
    public static async Task<HttpResponseData> CancelPipeline(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "pipelines/{id}/cancel")] HttpRequestData request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (body, problem) = await PipelineApi.ReadBodyAsync(request.Body, cancellationToken);
        if (problem is not null)
            return await WriteAsync(request, problem, cancellationToken);
        var result = await Api(request, client).CancelAsync(id, body, PipelinesUri(request), cancellationToken);
        return await WriteAsync(request, result, cancellationToken);
    }

    private static PipelineApi Api(HttpRequestData request, DurableTaskClient client) => new(
        client,
        request.FunctionContext.InstanceServices.GetRequiredService<SoupStorage>(),
        reports: request.FunctionContext.InstanceServices.GetRequiredService<IPipelineReportRenderer>(),
        limits: request.FunctionContext.InstanceServices.GetRequiredService<IOptions<PipelineLimits>>().Value);

    /// <summary>The URL of <c>/api/pipelines</c> on this host (no query: the function key is not echoed in links).</summary>
    private static Uri PipelinesUri(HttpRequestData request) => new(request.Url, "/api/pipelines");

    private static async Task<HttpResponseData> WriteAsync(HttpRequestData request, ApiResult result, CancellationToken cancellationToken)
    {
        var response = request.CreateResponse((HttpStatusCode)result.StatusCode);
        response.Headers.Add("Content-Type", result.ContentType + "; charset=utf-8");
        if (result.Location is not null)
            response.Headers.Add("Location", result.Location);
        await response.WriteStringAsync(result.ToText(), cancellationToken);
        return response;
    }
}
