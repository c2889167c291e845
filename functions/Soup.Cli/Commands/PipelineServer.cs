using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Soup.Cli.Engine;
using Soup.Orchestration;

namespace Soup.Cli.Commands;

/// <summary>
/// The HTTP API of the Functions app served by the local engine (<c>pipeline serve</c>): the same routes, answered by the
/// same <see cref="PipelineApi"/>, over an ASP.NET Core minimal API. There are no keys: it binds to loopback unless told
/// otherwise.
/// </summary>
public sealed class PipelineServer : IAsyncDisposable
{
    /// <summary>Where <c>pipeline serve</c> listens by default: the Functions host's local port, loopback only.</summary>
    public const string DefaultUrls = "http://127.0.0.1:7071";

    private readonly LocalEngine engine;
    private readonly WebApplication web;

    private PipelineServer(LocalEngine engine, WebApplication web)
    {
        this.engine = engine;
        this.web = web;
    }

    /// <summary>The addresses the server listens on (with the real port when asked for port 0).</summary>
    public IReadOnlyList<Uri> Addresses =>
        [.. web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a))];

    /// <summary>The engine behind the API.</summary>
    public LocalEngine Engine => engine;

    /// <summary>Starts the local engine (with its in-process workers, as configured) and the API on <paramref name="urls"/> (separated by ';').</summary>
    public static async Task<PipelineServer> StartAsync(IConfiguration configuration, string urls, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        var engine = await LocalEngine.StartAsync(configuration, logging, cancellationToken);
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            logging?.Invoke(builder.Logging);
            builder.WebHost.UseUrls(urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            var web = builder.Build();
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
        await web.StopAsync();
        await web.DisposeAsync();
        await engine.DisposeAsync();
    }

    /// <summary>Maps the API's routes (those of the Functions app) onto <paramref name="app"/>.</summary>
    public static void Map(IEndpointRouteBuilder app, PipelineApi api)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(api);
        var pipelines = app.MapGroup("/api/pipelines");
        pipelines.MapPost("", async context =>
        {
            var body = await ReadBodyAsync(context);
            var key = context.Request.Headers.TryGetValue(PipelineApi.IdempotencyKeyHeader, out var values) ? values.ToString() : null;
            await WriteAsync(context, await api.StartAsync(body, key, PipelinesUri(context), context.RequestAborted));
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
            var body = await ReadBodyAsync(context);
            await WriteAsync(context, await api.CancelAsync((string)context.GetRouteValue("id")!, body, PipelinesUri(context), context.RequestAborted));
        });
    }

    private static Uri PipelinesUri(HttpContext context) =>
        new($"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}/api/pipelines");

    private static async Task<string> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        return await reader.ReadToEndAsync(context.RequestAborted);
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
