using System.Globalization;
using System.Security.Cryptography;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Soup.Core.Specs;

namespace Soup.Orchestration;

/// <summary>Starts pipelines from specs that passed validation; shared by the HTTP API, the timer and the CLI.</summary>
public static class PipelineStarter
{
    /// <summary>A new pipeline id: the spec's name, the UTC start time and a random suffix (a safe blob folder name).</summary>
    public static string NewPipelineId(string name, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{name}-{now:yyyyMMdd-HHmmss}-{RandomNumberGenerator.GetHexString(6, lowercase: true)}");

    /// <summary>Schedules the pipeline orchestration for a valid spec and returns its instance id.</summary>
    public static Task<string> StartAsync(DurableTaskClient client, PipelineSpec spec, string? pipelineId = null, CancellationToken cancellationToken = default)
    {
        var id = pipelineId ?? NewPipelineId(spec.Name, DateTimeOffset.UtcNow);
        return client.ScheduleNewOrchestrationInstanceAsync(
            new TaskName(TaskNames.Pipeline), spec, new StartOrchestrationOptions(id), cancellationToken);
    }
}
