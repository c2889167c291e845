using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace Soup.Cli.Commands;

/// <summary>
/// <c>pipeline serve [--urls U] [--workers N] [--data-root DIR]</c>: the local engine with the HTTP API of the Functions
/// app, until Ctrl+C. Exit codes: 0 stopped, 2 cannot listen there, 3 storage unreachable.
/// </summary>
public static class ServeCommand
{
    /// <summary>The command.</summary>
    public static Command Build()
    {
        var urls = new Option<string>("--urls")
        {
            Description = $"Where to listen, separated by ';' (default {PipelineServer.DefaultUrls}: loopback only; the API has no keys).",
            DefaultValueFactory = _ => PipelineServer.DefaultUrls,
        };
        var workers = new Option<int>("--workers")
        {
            Description = "Job workers run inside this process (0: rely on external workers).",
            DefaultValueFactory = _ => 1,
        };
        var dataRoot = new Option<DirectoryInfo?>("--data-root") { Description = "Folder holding one folder per dataset (default: $DataRoot or /usr/share/datasets)." };
        var verbose = new Option<bool>("--verbose") { Description = "Print the engine's, the API's and the workers' logs." };
        var serve = new Command("serve", "Serve the pipeline HTTP API (the Functions app's routes) on the local engine, with in-process workers.")
        {
            urls, workers, dataRoot, verbose,
        };
        serve.SetAction((parse, ct) => ExecuteAsync(
            parse.GetValue(urls)!, parse.GetValue(workers), parse.GetValue(dataRoot), parse.GetValue(verbose), Console.Out, ct));
        return serve;
    }

    private static async Task<int> ExecuteAsync(string urls, int workers, DirectoryInfo? dataRoot, bool verbose, TextWriter output, CancellationToken cancellationToken)
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
                configuration, urls, verbose ? l => l.AddSimpleConsole(o => o.SingleLine = true).AddFilter("Soup", LogLevel.Debug) : null, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or FormatException or InvalidOperationException)
        {
            output.WriteLine($"Cannot serve on {urls}: {ex.Message}");
            return 2;
        }

        await using var running = server;
        foreach (var address in server.Addresses)
        {
            output.WriteLine($"Pipeline API on {address.ToString().TrimEnd('/')}/api/pipelines (task hub '{configuration["TaskHubName"]}', {workers} in-process worker(s)); Ctrl+C stops.");
            if (!address.IsLoopback)
                output.WriteLine($"Warning: {address} is reachable beyond this machine and the API asks for no keys.");
        }

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
