using System.Text.Encodings.Web;
using System.Text.Json;

namespace Soup.Orchestration;

/// <summary>
/// What the HTTP API answers, independent of the host: a status code, a body serialised as JSON (problem details for
/// errors), and for accepted requests the URL to poll. The Functions app and <c>pipeline serve</c> both write it as is.
/// </summary>
/// <param name="StatusCode">The HTTP status code.</param>
/// <param name="Body">The body, serialised with web defaults.</param>
/// <param name="Location">The <c>Location</c> header, when there is one.</param>
public sealed record ApiResult(int StatusCode, object Body, string? Location = null)
{
    // Relaxed escaping keeps quotes and apostrophes readable in problem details; the body is JSON, never HTML.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The content type: <c>text/html</c> for an <see cref="HtmlPage"/>, <c>application/problem+json</c> for errors, else
    /// <c>application/json</c>.
    /// </summary>
    public string ContentType => Body is HtmlPage ? "text/html" : StatusCode >= 400 ? "application/problem+json" : "application/json";

    /// <summary>The body as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(Body, Body.GetType(), Json);

    /// <summary>The body as the response's text: the page of an <see cref="HtmlPage"/>, else <see cref="ToJson"/>.</summary>
    public string ToText() => Body is HtmlPage page ? page.Html : ToJson();

    /// <summary>An RFC 9457 problem-details result.</summary>
    public static ApiResult Problem(int status, string title, string detail, string? id = null) =>
        new(status, new ApiProblem($"https://github.com/soup-pipeline/docs/{Slug(status)}", title, status, detail, id));

    private static string Slug(int status) => status switch
    {
        400 => "bad-request",
        404 => "pipeline-not-found",
        401 => "unauthorized",
        403 => "forbidden",
        405 => "method-not-allowed",
        409 => "conflict",
        413 => "body-too-large",
        415 => "unsupported-media-type",
        429 => "too-many-pipelines",
        _ => "error",
    };
}

/// <summary>A body sent as an HTML page (<c>text/html</c>), not as JSON.</summary>
/// <param name="Html">The page.</param>
public sealed record HtmlPage(string Html);

/// <summary>The RFC 9457 problem-details body of an API error.</summary>
/// <param name="Type">A URI naming the kind of problem.</param>
/// <param name="Title">A short summary of the kind of problem.</param>
/// <param name="Status">The HTTP status code.</param>
/// <param name="Detail">What went wrong with this request.</param>
/// <param name="Id">The pipeline concerned, when there is one.</param>
public sealed record ApiProblem(string Type, string Title, int Status, string Detail, string? Id);

/// <summary>The body of <c>202 Accepted</c> for a started (or idempotently found) pipeline.</summary>
/// <param name="Id">The pipeline (instance) id.</param>
/// <param name="StatusUri">Where to read its status (<c>GET</c>).</param>
/// <param name="CancelUri">Where to cancel it (<c>POST</c>).</param>
/// <param name="Created">False when the idempotency key named a pipeline that already existed: nothing new was started.</param>
public sealed record PipelineAccepted(string Id, string StatusUri, string CancelUri, bool Created);

/// <summary>One line of <c>GET /api/pipelines</c>.</summary>
/// <param name="Id">The pipeline id.</param>
/// <param name="Status">The runtime status (Pending, Running, Completed, Failed, Terminated, Suspended).</param>
/// <param name="CreatedAt">When it was started.</param>
/// <param name="LastUpdatedAt">When its state last changed.</param>
/// <param name="Name">The spec's name (null when its input cannot be read).</param>
public sealed record PipelineSummary(string Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt, string? Name);

/// <summary>The body of <c>GET /api/pipelines</c>: the pipelines, newest first.</summary>
/// <param name="Pipelines">The pipelines.</param>
public sealed record PipelineList(IReadOnlyList<PipelineSummary> Pipelines);

/// <summary>The body of <c>202 Accepted</c> for a cancellation.</summary>
/// <param name="Id">The pipeline id.</param>
/// <param name="Reason">The recorded reason (the first cancellation's, when it was cancelled twice).</param>
/// <param name="CancelledAt">When the cancellation was recorded.</param>
/// <param name="Marker">The marker blob workers check before running the pipeline's jobs.</param>
/// <param name="StatusUri">Where to read the status, which turns <c>Terminated</c> once the engine applies it.</param>
public sealed record PipelineCancelling(string Id, string Reason, DateTimeOffset CancelledAt, string Marker, string StatusUri);
