using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Soup.Local;
using Soup.Core.Storage;
using Soup.Orchestration;
using Soup.Reports;

namespace Soup.Cli.Commands;

/// <summary>
/// <c>pipeline status</c>, <c>pipeline list</c>, <c>pipeline cancel</c> and <c>pipeline report</c>: the HTTP API's logic (<see cref="PipelineApi"/>)
/// on a client-only local engine over the task hub on Azurite; the pipelines themselves run in another process
/// (<c>pipeline run</c> or <c>pipeline serve</c>). Exit codes: 0 done, 1 no such pipeline, 2 bad arguments,
/// 3 storage unreachable, 4 (cancel) the pipeline already ended.
/// </summary>
public static class PipelineCommands
{
    /// <summary>Links in API answers are not printed by the CLI; they are built against this placeholder.</summary>
    private static readonly Uri PipelinesUri = new("http://127.0.0.1/api/pipelines");

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The three commands.</summary>
    public static IEnumerable<Command> Build()
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON answer instead of text." };

        var statusId = new Argument<string>("id") { Description = "The pipeline id." };
        var status = new Command("status", "Show a pipeline's status, progress, running jobs and result.") { statusId, json };
        status.SetAction((parse, ct) => StatusAsync(LocalConfiguration.Build(null, 0), parse.GetValue(statusId)!, parse.GetValue(json), Console.Out, ct));

        var statuses = new Option<string?>("--status")
        {
            Description = "Only pipelines in these statuses, separated by commas: Pending, Running, Suspended, Completed, Failed, Terminated.",
        };
        var list = new Command("list", "List the pipelines of the local task hub, newest first.") { statuses, json };
        list.SetAction((parse, ct) => ListAsync(LocalConfiguration.Build(null, 0), parse.GetValue(statuses), parse.GetValue(json), Console.Out, ct));

        var cancelId = new Argument<string>("id") { Description = "The pipeline id." };
        var reason = new Option<string?>("--reason") { Description = "Why (recorded in the cancellation marker and the termination)." };
        var cancel = new Command("cancel", "Cancel a pipeline: workers drop its outstanding jobs and the orchestration is terminated.") { cancelId, reason, json };
        cancel.SetAction((parse, ct) => CancelAsync(LocalConfiguration.Build(null, 0), parse.GetValue(cancelId)!, parse.GetValue(reason), parse.GetValue(json), Console.Out, ct));

        var reportId = new Argument<string>("id") { Description = "The pipeline id." };
        var reportOut = new Option<FileInfo?>("--out") { Description = "Also write the report (one self-contained HTML page with plots) to this file." };
        var report = new Command("report", "Print a pipeline's report tables (Markdown) and optionally write its HTML report to a file.") { reportId, reportOut };
        report.SetAction((parse, ct) => ReportAsync(LocalConfiguration.Build(null, 0), parse.GetValue(reportId)!, parse.GetValue(reportOut), Console.Out, ct));

        return [status, list, cancel, report];
    }

    /// <summary>
    /// <c>pipeline report</c>: prints the report's tables as Markdown (what exists so far, and what is pending) and where
    /// the pipeline's stored report is; with <paramref name="htmlFile"/>, writes the HTML report there (what
    /// <c>GET /api/pipelines/{id}/report</c> answers). Returns the exit code.
    /// </summary>
    public static Task<int> ReportAsync(IConfiguration configuration, string id, FileInfo? htmlFile, TextWriter output, CancellationToken cancellationToken) =>
        WithApiAsync(configuration, output, cancellationToken, async api =>
        {
            var result = await api.GetAsync(id, cancellationToken);
            if (result.StatusCode == 404)
                return NotFound(output, id, configuration);

            var view = (PipelineStatusView)result.Body;
            output.Write(new PipelineReportRenderer().RenderMarkdown(view));
            output.WriteLine();
            output.WriteLine(ReportLocation(configuration, id));
            if (htmlFile is not null)
            {
                var page = (HtmlPage)(await api.GetReportAsync(id, cancellationToken)).Body;
                await File.WriteAllTextAsync(htmlFile.FullName, page.Html, cancellationToken);
                output.WriteLine($"Report written to {htmlFile.FullName}");
            }

            return 0;
        });

    /// <summary>Where the pipeline's report is stored when it ends, and how to read it, in one line.</summary>
    public static string ReportLocation(IConfiguration configuration, string id)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var container = configuration[nameof(PipelineOptions.ReportsContainer)] ?? new PipelineOptions().ReportsContainer;
        return $"Report: blob '{container}/{PipelineReports.BlobName(id)}' (written when the pipeline ends); `pipeline report {id} --out report.html` or GET /api/pipelines/{id}/report renders it now.";
    }

    /// <summary><c>pipeline status</c>; returns the exit code.</summary>
    public static Task<int> StatusAsync(IConfiguration configuration, string id, bool json, TextWriter output, CancellationToken cancellationToken) =>
        WithApiAsync(configuration, output, cancellationToken, async api =>
        {
            var result = await api.GetAsync(id, cancellationToken);
            if (result.StatusCode == 404)
                return NotFound(output, id, configuration);
            if (json)
                return Print(output, result);

            var view = (PipelineStatusView)result.Body;
            output.WriteLine($"Pipeline {view.Id}: {view.RuntimeStatus} (created {Time(view.CreatedAt)}, updated {Time(view.LastUpdatedAt)})");
            if (view.Progress is { } p && !view.IsTerminal)
                output.WriteLine($"  {p.Describe()}");

            if (view.Jobs is { Count: > 0 } jobs)
                output.WriteLine($"  jobs: {ProgressPrinter.DescribeJobs(jobs)}");
            if (view.IsTerminal)
                ResultsTable.Write(view, output);
            return 0;
        });

    /// <summary><c>pipeline list</c>; returns the exit code.</summary>
    public static Task<int> ListAsync(IConfiguration configuration, string? statuses, bool json, TextWriter output, CancellationToken cancellationToken) =>
        WithApiAsync(configuration, output, cancellationToken, async api =>
        {
            var result = await api.ListAsync(statuses, cancellationToken);
            if (result.StatusCode == 400)
            {
                output.WriteLine(((ApiProblem)result.Body).Detail);
                return 2;
            }

            if (json)
                return Print(output, result);

            var pipelines = ((PipelineList)result.Body).Pipelines;
            if (pipelines.Count == 0)
            {
                output.WriteLine("No pipelines.");
                return 0;
            }

            var width = Math.Max(2, pipelines.Max(p => p.Id.Length));
            output.WriteLine($"{"ID".PadRight(width)}  {"STATUS",-10}  {"CREATED",-20}  {"UPDATED",-20}  NAME");
            foreach (var p in pipelines)
                output.WriteLine($"{p.Id.PadRight(width)}  {p.Status,-10}  {Time(p.CreatedAt),-20}  {Time(p.LastUpdatedAt),-20}  {p.Name}");
            return 0;
        });

    /// <summary><c>pipeline cancel</c>; returns the exit code.</summary>
    public static Task<int> CancelAsync(IConfiguration configuration, string id, string? reason, bool json, TextWriter output, CancellationToken cancellationToken) =>
        WithApiAsync(configuration, output, cancellationToken, async api =>
        {
            var body = reason is null ? null : JsonSerializer.Serialize(new { reason }, Json);
            var result = await api.CancelAsync(id, body, PipelinesUri, cancellationToken);
            switch (result.StatusCode)
            {
                case 404:
                    return NotFound(output, id, configuration);
                case 409:
                    output.WriteLine(((ApiProblem)result.Body).Detail);
                    return 4;
                case 400:
                    output.WriteLine(((ApiProblem)result.Body).Detail);
                    return 2;
            }

            if (json)
                return Print(output, result);
            var cancelling = (PipelineCancelling)result.Body;
            output.WriteLine($"Pipeline {id}: cancellation recorded ({cancelling.Marker}: {cancelling.Reason}); workers drop its outstanding jobs.");
            output.WriteLine("Termination requested; the engine running the pipeline (pipeline run / serve) applies it: check with `pipeline status " + id + "`.");
            return 0;
        });

    private static async Task<int> WithApiAsync(IConfiguration configuration, TextWriter output, CancellationToken cancellationToken, Func<PipelineApi, Task<int>> action)
    {
        if (await StorageProbe.ProblemAsync(configuration, cancellationToken) is { } problem)
        {
            output.WriteLine(problem);
            return 3;
        }

        await using var engine = await LocalEngine.StartClientAsync(configuration, cancellationToken: cancellationToken);
        return await action(engine.Api());
    }

    private static int NotFound(TextWriter output, string id, IConfiguration configuration)
    {
        output.WriteLine($"No pipeline '{id}' in task hub '{LocalConfiguration.Engine(configuration).TaskHubName}'.");
        return 1;
    }

    private static int Print(TextWriter output, ApiResult result)
    {
        using var document = JsonDocument.Parse(result.ToJson());
        output.WriteLine(JsonSerializer.Serialize(document.RootElement, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
