using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Soup.Orchestration;

namespace Soup.Local;

/// <summary>
/// Who may call <c>pipeline serve</c>: the token a request must carry (<c>Authorization: Bearer</c> or
/// <c>x-functions-key</c>, the Functions host's header), or null for none (<c>--no-auth</c>); and the Host names it
/// answers besides the loopback names of the port it listens on (for a server bound beyond loopback).
/// </summary>
/// <param name="Token">The token; null: no authentication.</param>
/// <param name="AllowedHosts">Further <c>host</c> or <c>host:port</c> values of the Host header that are answered.</param>
public sealed record ServeSecurity(string? Token, IReadOnlyList<string>? AllowedHosts = null)
{
    /// <summary>No authentication (the Host and Origin checks stay).</summary>
    public static ServeSecurity NoAuth { get; } = new(Token: null);

    /// <summary>A fresh random token (128 bits, 32 hex digits).</summary>
    public static ServeSecurity NewToken(IReadOnlyList<string>? allowedHosts = null) =>
        new(RandomNumberGenerator.GetHexString(32, lowercase: true), allowedHosts);
}

/// <summary>
/// The HTTP API of the Functions app served by the local engine (<c>pipeline serve</c>): the same routes, answered by the
/// same <see cref="PipelineApi"/>, over an ASP.NET Core minimal API. A web page the developer visits must not be able
/// to use it: every request needs the token (<see cref="ServeSecurity"/>), a Host header naming this server (DNS
/// rebinding), no foreign Origin, and request bodies are <c>application/json</c> of at most
/// <see cref="PipelineApi.MaxBodyBytes"/>. Every error, the server's own 404, 405 and 413 included, is problem+json.
/// </summary>
public sealed class PipelineServer : IAsyncDisposable
{
    /// <summary>Where <c>pipeline serve</c> listens by default: the Functions host's local port, loopback only.</summary>
    public const string DefaultUrls = "http://127.0.0.1:7071";

    private readonly LocalEngine _engine;
    private readonly WebApplication _web;

    private PipelineServer(LocalEngine engine, WebApplication web)
    {
        this._engine = engine;
        this._web = web;
    }

    /// <summary>The addresses the server listens on (with the real port when asked for port 0).</summary>
    public IReadOnlyList<Uri> Addresses =>
        [.. _web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a))];

    /// <summary>The engine behind the API.</summary>
    public LocalEngine Engine => _engine;

    /// <summary>
    /// Starts the local engine (with its in-process workers, as configured) and the API on <paramref name="urls"/>
    /// (separated by ';'), answering only requests that <paramref name="security"/> lets through.
    /// </summary>
    public static async Task<PipelineServer> StartAsync(
        IConfiguration configuration, string urls, ServeSecurity security, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(security);
        var engine = await LocalEngine.StartAsync(configuration, logging, cancellationToken);
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            logging?.Invoke(builder.Logging);
            builder.WebHost.UseUrls(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = PipelineApi.MaxBodyBytes);
            var web = builder.Build();
            web.UseStatusCodePages(context => WriteAsync(context.HttpContext, StatusProblem(context.HttpContext)));
            var guard = new RequestGuard(security, () => web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses);
            web.Use(guard.InvokeAsync);
            Map(web, engine.Api());
            await web.StartAsync(cancellationToken);
            return new PipelineServer(engine, web);
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
        await _engine.DisposeAsync();
    }

    /// <summary>Maps the API's routes (those of the Functions app) onto <paramref name="app"/>.</summary>
    public static void Map(IEndpointRouteBuilder app, PipelineApi api)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(api);
        var pipelines = app.MapGroup("/api/pipelines");
        pipelines.MapPost("", async context =>
        {
            var (body, problem) = await ReadBodyAsync(context);
            var key = context.Request.Headers.TryGetValue(PipelineApi.IdempotencyKeyHeader, out var values) ? values.ToString() : null;
            await WriteAsync(context, problem ?? await api.StartAsync(body!, key, PipelinesUri(context), context.RequestAborted));
        });
        pipelines.MapGet("", async context =>
        {
            var statuses = context.Request.Query.TryGetValue("status", out var values) ? values.ToString() : null;
            await WriteAsync(context, await api.ListAsync(statuses, context.RequestAborted));
        });
        pipelines.MapGet("/{id}", async context =>
            await WriteAsync(context, await api.GetAsync((string)context.GetRouteValue("id")!, context.RequestAborted)));
        pipelines.MapGet("/{id}/report", async context =>
            await WriteAsync(context, await api.GetReportAsync((string)context.GetRouteValue("id")!, context.RequestAborted)));
        pipelines.MapPost("/{id}/cancel", async context =>
        {
            var (body, problem) = await ReadBodyAsync(context);
            await WriteAsync(context, problem ?? await api.CancelAsync((string)context.GetRouteValue("id")!, body, PipelinesUri(context), context.RequestAborted));
        });
    }

    private static Uri PipelinesUri(HttpContext context) =>
        new($"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}/api/pipelines");

    private static async Task<(string? Text, ApiResult? Problem)> ReadBodyAsync(HttpContext context)
    {
        try
        {
            return await PipelineApi.ReadBodyAsync(context.Request.Body, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, PipelineApi.BodyTooLarge()); // Kestrel's own limit (a Content-Length over it, or a longer chunked body).
        }
    }

    private static ApiResult StatusProblem(HttpContext context)
    {
        var (method, path, status) = (context.Request.Method, context.Request.Path.Value, context.Response.StatusCode);
        return status switch
        {
            StatusCodes.Status404NotFound => ApiResult.Problem(status, "Not found", $"Nothing answers {method} {path}; the API's routes are under /api/pipelines."),
            StatusCodes.Status405MethodNotAllowed => ApiResult.Problem(status, "Method not allowed", $"{path} does not answer {method}."),
            StatusCodes.Status413PayloadTooLarge => PipelineApi.BodyTooLarge(),
            _ => ApiResult.Problem(status, "Request failed", $"{method} {path} answered {status}."),
        };
    }

    private static async Task WriteAsync(HttpContext context, ApiResult result)
    {
        context.Response.StatusCode = result.StatusCode;
        context.Response.ContentType = result.ContentType + "; charset=utf-8";
        if (result.Location is not null)
            context.Response.Headers.Location = result.Location;
        await context.Response.WriteAsync(result.ToText(), context.RequestAborted);
    }
}

/// <summary>
/// The checks every request of <c>pipeline serve</c> passes before its route, in this order: a Host header naming this
/// server (400), no Origin other than this server's (403), the token (401), and a JSON body (415).
/// </summary>
internal sealed class RequestGuard(ServeSecurity security, Func<ICollection<string>> addresses)
{
    private HashSet<string>? _hosts;

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (Refusal(context) is { } refusal)
        {
            context.Response.StatusCode = refusal.StatusCode;
            if (refusal.StatusCode == StatusCodes.Status401Unauthorized)
                context.Response.Headers.WWWAuthenticate = "Bearer";
            context.Response.ContentType = refusal.ContentType + "; charset=utf-8";
            await context.Response.WriteAsync(refusal.ToText(), context.RequestAborted);
            return;
        }

        await next(context);
    }

    private ApiResult? Refusal(HttpContext context)
    {
        var request = context.Request;
        var allowed = _hosts ??= AllowedHosts();
        var host = request.Host.Value ?? "";
        if (!allowed.Contains(host))
        {
            return ApiResult.Problem(400, "Unknown Host",
                $"This server answers Host {string.Join(", ", allowed.Order(StringComparer.Ordinal))}, not '{Printable(host)}' (a name that points here from elsewhere is refused: DNS rebinding). Bound beyond loopback? Name the host with --allowed-hosts.");
        }

        if (request.Headers.Origin.ToString() is { Length: > 0 } origin
            && !(Uri.TryCreate(origin, UriKind.Absolute, out var from) && from.Scheme is "http" or "https" && allowed.Contains(from.Authority)))
        {
            return ApiResult.Problem(403, "Foreign origin", $"Requests from web pages of '{Printable(origin)}' are refused; call the API from a script or the command line.");
        }

        if (security.Token is { } token && !Authenticated(request, token))
        {
            return ApiResult.Problem(401, "Token required",
                "Send the token that `pipeline serve` printed as 'Authorization: Bearer <token>' (or 'x-functions-key: <token>').");
        }

        var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if (HttpMethods.IsPost(request.Method) && hasBody
            && !(MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
        {
            return ApiResult.Problem(415, "JSON only", $"Request bodies must be 'application/json', not '{Printable(request.ContentType ?? "")}'.");
        }

        return null;
    }

    private static bool Authenticated(HttpRequest request, string token)
    {
        var expected = Encoding.UTF8.GetBytes(token);
        var authorization = request.Headers.Authorization.ToString();
        var given = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim()
            : request.Headers["x-functions-key"].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected);
    }

    /// <summary>The Host values answered: the loopback names of every port listened on, each bound address, and those configured.</summary>
    private HashSet<string> AllowedHosts()
    {
        var allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var address in addresses())
        {
            var uri = new Uri(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
            foreach (var name in (string[])["localhost", "127.0.0.1", "[::1]"])
                allowed.Add($"{name}:{uri.Port}");
            if (uri.Host is not ("0.0.0.0" or "[::]" or "::"))
                allowed.Add(uri.Authority);
            foreach (var extra in security.AllowedHosts ?? [])
                allowed.Add(extra.Contains(':', StringComparison.Ordinal) ? extra : $"{extra}:{uri.Port}");
        }

        return allowed;
    }

    private static string Printable(string text) =>
        new([.. text.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);
}
