using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Soup.Local;
using Soup.Orchestration.Retention;

namespace Soup.Cli.Commands;

/// <summary>
/// <c>pipeline retention [--dry-run] [--members-days N] [--instances-days N] [--json]</c>: applies retention to the local
/// task hub and checkpoints container, as the Functions app's timer does in Azure (<see cref="PipelineRetention"/>), on
/// a client-only engine. Exit codes: 0 applied, 1 something could not be deleted or purged (listed; the rest was done),
/// 2 bad arguments (nothing done), 3 storage unreachable.
/// </summary>
public static class RetentionCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The command.</summary>
    public static Command Build()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be deleted and purged; change nothing." };
        var membersDays = new Option<string?>("--members-days")
        {
            Description = $"Days member checkpoints (and resumption checkpoints, progress reports, job files) are kept after their round's soup landed (default: $RetentionMemberDays or {RetentionPolicy.DefaultMemberDays}).",
        };
        var instancesDays = new Option<string?>("--instances-days")
        {
            Description = $"Days an ended pipeline's Durable instances are kept (default: $RetentionInstanceDays or {RetentionPolicy.DefaultInstanceDays}).",
        };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("retention", """
            Delete the expired checkpoints of ended pipelines and purge their ended instances, in the local task hub.
            Pipelines that have not ended are never touched. Soups, the delivered checkpoint, evaluation results and reports are kept.
            Examples:
              pipeline retention --dry-run
              pipeline retention --members-days 7 --instances-days 30
            """)
        {
            dryRun, membersDays, instancesDays, json,
        };
        command.SetAction((parse, ct) => ExecuteAsync(
            LocalConfiguration.Build(null, 0),
            new RetentionCommandArgs(parse.GetValue(dryRun), parse.GetValue(membersDays), parse.GetValue(instancesDays), parse.GetValue(json)),
            Console.Out,
            Console.Error,
            ct));
        return command;
    }

    /// <summary>Runs the command; returns the exit code. Problems go to <paramref name="error"/>.</summary>
    public static async Task<int> ExecuteAsync(
        IConfiguration configuration, RetentionCommandArgs args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        RetentionPolicy policy;
        try
        {
            var settings = configuration.Get<RetentionOptions>() ?? new RetentionOptions();
            policy = new RetentionPolicy(
                Days(args.InstancesDays, "--instances-days") ?? settings.RetentionInstanceDays,
                Days(args.MembersDays, "--members-days") ?? settings.RetentionMemberDays);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            await error.WriteLineAsync($"retention: {ex.Message}");
            return 2;
        }

        if (policy.Problem is { } problem)
        {
            await error.WriteLineAsync($"retention: {problem}");
            return 2;
        }

        if (await StorageProbe.ProblemAsync(configuration, cancellationToken) is { } unreachable)
        {
            await error.WriteLineAsync(unreachable);
            return 3;
        }

        await using var engine = await LocalEngine.StartClientAsync(configuration, cancellationToken: cancellationToken);
        var report = await engine.Services.GetRequiredService<PipelineRetention>().ApplyAsync(engine.Client, policy, args.DryRun, cancellationToken);
        if (args.Json)
            await output.WriteLineAsync(JsonSerializer.Serialize(report, Json));
        else
            Write(report, configuration, output);
        foreach (var problemLine in report.Errors)
            await error.WriteLineAsync($"retention: {problemLine}");
        return report.Errors.Count == 0 ? 0 : 1;
    }

    private static void Write(RetentionReport report, IConfiguration configuration, TextWriter output)
    {
        var (blobVerb, instanceVerb) = report.DryRun ? ("Would delete", "Would purge") : ("Deleted", "Purged");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Retention{(report.DryRun ? " (dry run: nothing changed)" : "")} in task hub '{LocalConfiguration.Engine(configuration).TaskHubName}', container '{LocalConfiguration.Pipeline(configuration).CheckpointsContainer}', at {report.Now.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z: members kept {report.Policy.MemberDays} days after their round's soup, instances {report.Policy.InstanceDays} days after their pipeline ended."));
        output.WriteLine($"{blobVerb} {report.Blobs.Count} blob(s):");
        foreach (var blob in report.Blobs)
            output.WriteLine($"  {blob.Name}  ({blob.Reason})");
        output.WriteLine($"{instanceVerb} {report.Instances.Count} instance(s):");
        foreach (var instance in report.Instances)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {instance.InstanceId}  ({instance.Name}, {instance.Status} {instance.EndedAt.UtcDateTime:yyyy-MM-dd HH:mm}Z)"));
        var unknown = report.Skipped.Count(s => s.Reason.StartsWith("no instance", StringComparison.Ordinal));
        var others = report.Skipped.Where(s => !s.Reason.StartsWith("no instance", StringComparison.Ordinal)).ToList();
        if (others.Count > 0 || unknown > 0)
        {
            output.WriteLine($"Left alone: {others.Count} pipeline(s) or instance(s), and {unknown} folder(s) with no instance in the task hub:");
            foreach (var skip in others)
                output.WriteLine($"  {skip.Id}  ({skip.Reason})");
        }
    }

    /// <summary>A number of days from the command line, or null when not given.</summary>
    private static int? Days(string? text, string option) =>
        text is null ? null
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var days) ? days
        : throw new FormatException($"{option} must be a whole number of days, not '{text}'");
}

/// <summary>The arguments of <c>pipeline retention</c>.</summary>
/// <param name="DryRun">List only.</param>
/// <param name="MembersDays">Member retention in days as typed, or null for the setting.</param>
/// <param name="InstancesDays">Instance retention in days as typed, or null for the setting.</param>
/// <param name="Json">Print JSON.</param>
public sealed record RetentionCommandArgs(bool DryRun, string? MembersDays = null, string? InstancesDays = null, bool Json = false);
