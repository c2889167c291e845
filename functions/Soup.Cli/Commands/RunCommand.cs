using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Soup.Local;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Reports;

namespace Soup.Cli.Commands;

/// <summary>The arguments of <c>pipeline run</c>.</summary>
public sealed record RunCommandArgs(FileInfo? Spec, DirectoryInfo? DataRoot, int Workers, FileInfo? Output, bool Verbose = false, FileInfo? Report = null);

/// <summary>
/// <c>pipeline run</c>: validates the spec, starts the local engine, runs the pipeline while printing its progress,
/// then prints the results table and where the report is (optionally writing it to a file). Exit codes: 0 completed, 1 the pipeline failed, 2 invalid spec, 3 storage unreachable.
/// </summary>
public static class RunCommand
{
    /// <summary>Runs the command, writing everything the user reads to <paramref name="output"/>.</summary>
    public static async Task<int> ExecuteAsync(RunCommandArgs args, TextWriter output, CancellationToken cancellationToken)
    {
        var parsed = SpecLoader.Load(args.Spec);
        if (!parsed.IsValid)
        {
            SpecLoader.PrintProblems(output, args.Spec?.Name ?? "quickstart spec", parsed.Problems);
            return 2;
        }

        var spec = parsed.Spec!;
        var configuration = LocalConfiguration.Build(args.DataRoot?.FullName, args.Workers);
        if (await StorageProbe.ProblemAsync(configuration, cancellationToken) is { } problem)
        {
            output.WriteLine(problem);
            return 3;
        }

        output.WriteLine("Starting the local engine (Durable Task on Azure Storage/Azurite, in-process workers)...");
        await using var engine = await LocalEngine.StartAsync(
            configuration,
            args.Verbose ? l => l.AddSimpleConsole(o => o.SingleLine = true).AddFilter("Soup", LogLevel.Debug).AddFilter("Microsoft.DurableTask", LogLevel.Information).AddFilter("DurableTask", LogLevel.Information) : null,
            cancellationToken);
        if (engine.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PipelineLimits>>().Value.Check(spec, engine.Services.GetRequiredService<SoupStorage>().DatasetContainers) is { Count: > 0 } overBudget)
        {
            SpecLoader.PrintProblems(output, args.Spec?.Name ?? "quickstart spec", overBudget);
            return 2;
        }

        var id = await PipelineStarter.StartAsync(engine.Client, engine.Specs, spec, cancellationToken, engine.Services.GetRequiredService<SoupStorage>());
        output.WriteLine($"Pipeline {id}: {spec.Rounds} round(s) x {spec.Members.Count} member(s) of {spec.Model} on '{spec.Data.Dataset}' (data root {LocalConfiguration.Worker(configuration).DataRoot}).");

        var view = await ProgressPrinter.WatchAsync(engine.Client, engine.Services.GetRequiredService<SoupStorage>(), engine.Services.GetService<JobProgressReader>(), id, output, cancellationToken);
        ResultsTable.Write(view, output);
        output.WriteLine(PipelineCommands.ReportLocation(configuration, id));
        if (args.Report is not null)
        {
            await File.WriteAllTextAsync(args.Report.FullName, engine.Services.GetRequiredService<PipelineReportRenderer>().RenderHtml(view), cancellationToken);
            output.WriteLine($"Report written to {args.Report.FullName}");
        }

        if (args.Output is not null)
        {
            await File.WriteAllTextAsync(args.Output.FullName, JsonSerializer.Serialize(view, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }), cancellationToken);
            output.WriteLine($"Result written to {args.Output.FullName}");
        }

        return view.RuntimeStatus == nameof(OrchestrationRuntimeStatus.Completed) ? 0 : 1;
    }
}
