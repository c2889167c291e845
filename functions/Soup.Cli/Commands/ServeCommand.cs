using System.CommandLine;
using Microsoft.Extensions.Logging;
using Soup.Local;

namespace Soup.Cli.Commands;

/// <summary>
/// <c>pipeline serve [--urls U] [--workers N] [--data-root DIR] [--token T | --no-auth] [--allowed-hosts H]</c>: the local
/// engine with the HTTP API of the Functions app, until Ctrl+C. Requests need the token printed at start (or given with
/// <c>--token</c> or <c>$SOUP_API_TOKEN</c>) unless <c>--no-auth</c>. Exit codes: 0 stopped, 2 cannot listen there (or
/// a usage error), 3 storage unreachable.
/// </summary>
public static class ServeCommand
{
    /// <summary>The command.</summary>
    public static Command Build()
    {
        var urls = new Option<string>("--urls")
        {
            Description = $"Where to listen, separated by ';' (default {PipelineServer.DefaultUrls}: loopback only).",
            DefaultValueFactory = _ => PipelineServer.DefaultUrls,
        };
        var workers = new Option<int>("--workers")
        {
            Description = "Job workers run inside this process (0: rely on external workers).",
            DefaultValueFactory = _ => 1,
        };
        var dataRoot = new Option<DirectoryInfo?>("--data-root") { Description = "Folder holding one folder per dataset (default: $DataRoot or /usr/share/datasets)." };
        var verbose = new Option<bool>("--verbose") { Description = "Print the engine's, the API's and the workers' logs." };
        var token = new Option<string?>("--token")
        {
            Description = $"The token requests must carry ('Authorization: Bearer <token>' or 'x-functions-key: <token>'); default ${TokenVariable}, else a new random one, printed.",
        };
        var noAuth = new Option<bool>("--no-auth") { Description = "Answer requests without a token (the Host, Origin and content-type checks stay)." };
        var allowedHosts = new Option<string?>("--allowed-hosts")
        {
            Description = "Host header values answered besides the loopback names, separated by ',' (for --urls beyond loopback), e.g. 'devbox.lan'.",
        };
        var serve = new Command("serve", "Serve the pipeline HTTP API (the Functions app's routes) on the local engine, with in-process workers.")
        {
            urls, workers, dataRoot, verbose, token, noAuth, allowedHosts,
        };
        serve.Validators.Add(result =>
        {
            if (result.GetValue(noAuth) && result.GetValue(token) is not null)
                result.AddError("--token and --no-auth contradict each other: give one.");
        });
        serve.SetAction((parse, ct) =>
        {
            var hosts = (parse.GetValue(allowedHosts) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var given = parse.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable);
            var security = parse.GetValue(noAuth) ? ServeSecurity.NoAuth with { AllowedHosts = hosts }
                : string.IsNullOrEmpty(given) ? ServeSecurity.NewToken(hosts)
                : new ServeSecurity(given, hosts);
            return ExecuteAsync(parse.GetValue(urls)!, parse.GetValue(workers), parse.GetValue(dataRoot), parse.GetValue(verbose), security, Console.Out, ct);
        });
        return serve;
    }

    /// <summary>The environment variable that gives <c>pipeline serve</c> its token.</summary>
    public const string TokenVariable = "SOUP_API_TOKEN";

    private static async Task<int> ExecuteAsync(
        string urls, int workers, DirectoryInfo? dataRoot, bool verbose, ServeSecurity security, TextWriter output, CancellationToken cancellationToken)
    {
        var configuration = LocalConfiguration.Build(dataRoot?.FullName, workers);
        if (await StorageProbe.ProblemAsync(configuration, cancellationToken) is { } problem)
        {
            output.WriteLine(problem);
            return 3;
        }

        PipelineServer server;
        try
        {
            server = await PipelineServer.StartAsync(
                configuration, urls, security, verbose ? l => l.AddSimpleConsole(o => o.SingleLine = true).AddFilter("Soup", LogLevel.Debug) : null, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or FormatException or InvalidOperationException)
        {
            output.WriteLine($"Cannot serve on {urls}: {ex.Message}");
            return 2;
        }

        await using var running = server;
        foreach (var address in server.Addresses)
        {
            output.WriteLine($"Pipeline API on {address.ToString().TrimEnd('/')}/api/pipelines (task hub '{LocalConfiguration.Engine(configuration).TaskHubName}', {workers} in-process worker(s)); Ctrl+C stops.");
            if (!address.IsLoopback && security.Token is null)
                output.WriteLine($"Warning: {address} is reachable beyond this machine and --no-auth asks for no token.");
        }

        output.WriteLine(security.Token is { } secret
            ? $"API token: {secret} (send 'Authorization: Bearer <token>' or 'x-functions-key: <token>'; set ${TokenVariable} or --token to choose it)"
            : "No authentication (--no-auth): any local process can start and cancel pipelines.");

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        return 0;
    }
}
