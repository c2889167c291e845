namespace Soup.Core.Storage;

/// <summary>
/// Settings shared by the Functions app, the workers and the local engine. They are read from the root of the
/// configuration with these exact names (the same in app settings, local.settings.json and environment variables).
/// </summary>
public sealed class PipelineOptions
{
    /// <summary>The name of the storage connection setting: a connection string, or <c>SoupStorage__blobServiceUri</c>
    /// and <c>SoupStorage__queueServiceUri</c> for an identity (with <c>SoupStorage__credential</c> =
    /// <c>managedidentity</c> and <c>SoupStorage__clientId</c> for a user-assigned managed identity).</summary>
    public const string ConnectionName = "SoupStorage";

    /// <summary>The blob container that holds checkpoints, evaluations and failure records.</summary>
    public string CheckpointsContainer { get; set; } = "checkpoints";

    /// <summary>The queue that carries jobs to the workers.</summary>
    public string JobsQueue { get; set; } = "soup-jobs";

    /// <summary>The blob container that holds specs for scheduled retraining.</summary>
    public string SpecsContainer { get; set; } = "specs";

    /// <summary>The blob container that holds each pipeline's report (<c>{pipelineId}/report.html</c>).</summary>
    public string ReportsContainer { get; set; } = "reports";

    /// <summary>
    /// The containers a <c>blob:&lt;container&gt;/&lt;prefix&gt;</c> dataset may name, separated by commas: a spec naming
    /// any other is refused when it starts, and a worker refuses a job that names one (so no job can read the reports,
    /// specs or checkpoints container as data).
    /// </summary>
    public string DatasetContainers { get; set; } = "datasets";

    /// <summary><see cref="DatasetContainers"/> as a list.</summary>
    public IReadOnlyList<string> DatasetContainerList() =>
        [.. DatasetContainers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal)];
}
