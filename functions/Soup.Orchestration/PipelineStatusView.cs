using System.Text.Json;
using Microsoft.DurableTask.Client;

namespace Soup.Orchestration;

/// <summary>What <c>GET /api/pipelines/{id}</c> answers: runtime status, progress, and the result or failure.</summary>
public sealed record PipelineStatusView(
    string Id,
    string RuntimeStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    PipelineProgress? Progress,
    PipelineResult? Result,
    string? Failure)
{
    /// <summary>The progress reports of the current stage's training jobs (filled in by the caller; null when not read).</summary>
    public IReadOnlyList<Soup.Core.Jobs.JobProgress>? Jobs { get; init; }

    /// <summary>What the pipeline's pairs job made (<c>preferences</c>; filled in with the rounds by <see cref="RoundResults.LoadAsync(Soup.Core.Storage.SoupStorage, PipelineStatusView, CancellationToken)"/>; null: none made or not read).</summary>
    public Soup.Core.Jobs.PairsReport? Pairs { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Builds the view from an instance fetched with its inputs and outputs.</summary>
    public static PipelineStatusView From(OrchestrationMetadata metadata) => new(
        metadata.InstanceId,
        metadata.RuntimeStatus.ToString(),
        metadata.CreatedAt,
        metadata.LastUpdatedAt,
        Read<PipelineProgress>(metadata.SerializedCustomStatus),
        metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? Read<PipelineResult>(metadata.SerializedOutput) : null,
        metadata.FailureDetails is { } failure ? $"{failure.ErrorType}: {failure.ErrorMessage}"
            : metadata.RuntimeStatus == OrchestrationRuntimeStatus.Failed ? metadata.SerializedOutput : null);

    /// <summary>True once the pipeline can change no more.</summary>
    public bool IsTerminal => RuntimeStatus is nameof(OrchestrationRuntimeStatus.Completed)
        or nameof(OrchestrationRuntimeStatus.Failed) or nameof(OrchestrationRuntimeStatus.Terminated);

    private static T? Read<T>(string? json) where T : class =>
        string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<T>(json, Json);
}
