using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Soup.Core.Jobs;
using Soup.Merging;

namespace Soup.Core.Storage;

/// <summary>
/// The pipeline's storage: the checkpoints container and the jobs queue, reached with a connection string (Azurite)
/// or a managed identity (Azure).
/// </summary>
public sealed class SoupStorage
{
    /// <summary>Creates the clients from the <c>SoupStorage</c> connection setting.</summary>
    public SoupStorage(IConfiguration configuration, IOptions<PipelineOptions> options)
    {
        var o = options.Value;
        var connectionString = configuration[PipelineOptions.ConnectionName];
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        queueOptions.MessageDecodingFailed += OnUndecodableMessageAsync;
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            Blobs = new BlobServiceClient(connectionString);
            Queues = new QueueServiceClient(connectionString, queueOptions);
        }
        else
        {
            var section = configuration.GetSection(PipelineOptions.ConnectionName);
            var blobUri = section["blobServiceUri"];
            var queueUri = section["queueServiceUri"];
            if (string.IsNullOrWhiteSpace(blobUri) || string.IsNullOrWhiteSpace(queueUri))
            {
                throw new InvalidOperationException(
                    $"Setting '{PipelineOptions.ConnectionName}' is missing: give a connection string (e.g. UseDevelopmentStorage=true for Azurite) " +
                    $"or both '{PipelineOptions.ConnectionName}__blobServiceUri' and '{PipelineOptions.ConnectionName}__queueServiceUri' for a managed identity.");
            }

            var credential = Credential(section["credential"], section["clientId"]);
            Blobs = new BlobServiceClient(new Uri(blobUri), credential);
            Queues = new QueueServiceClient(new Uri(queueUri), credential, queueOptions);
        }

        Checkpoints = Blobs.GetBlobContainerClient(o.CheckpointsContainer);
        Specs = Blobs.GetBlobContainerClient(o.SpecsContainer);
        Reports = Blobs.GetBlobContainerClient(o.ReportsContainer);
        Jobs = Queues.GetQueueClient(o.JobsQueue);
        JobsPoison = Queues.GetQueueClient(PoisonQueueName(o.JobsQueue));
        DatasetContainers = o.DatasetContainerList();
    }

    /// <summary>The containers <c>blob:</c> datasets may name (<see cref="PipelineOptions.DatasetContainers"/>).</summary>
    public IReadOnlyList<string> DatasetContainers { get; }

    /// <summary>The poison queue of <paramref name="queue"/>: <c>{queue}-poison</c>, as Functions queue triggers name it.</summary>
    public static string PoisonQueueName(string queue) => queue + "-poison";

    /// <summary>
    /// The credential of an identity-based connection, as the Functions host reads one (<c>SoupStorage__credential</c>,
    /// <c>SoupStorage__clientId</c>): <c>managedidentity</c> is the managed identity (a user-assigned one when a client
    /// id is given); anything else, or nothing, is <see cref="DefaultAzureCredential"/> (developer sign-ins too).
    /// </summary>
    internal static TokenCredential Credential(string? credential, string? clientId) =>
        string.Equals(credential, "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(string.IsNullOrWhiteSpace(clientId) ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });

    /// <summary>The blob service.</summary>
    public BlobServiceClient Blobs { get; }

    /// <summary>The queue service.</summary>
    public QueueServiceClient Queues { get; }

    /// <summary>The checkpoints container.</summary>
    public BlobContainerClient Checkpoints { get; }

    /// <summary>The container of specs for scheduled retraining.</summary>
    public BlobContainerClient Specs { get; }

    /// <summary>The container of pipeline reports.</summary>
    public BlobContainerClient Reports { get; }

    /// <summary>The jobs queue.</summary>
    public QueueClient Jobs { get; }

    /// <summary>Where messages that are not jobs go, each with the reason (<see cref="PoisonMessage"/>).</summary>
    public QueueClient JobsPoison { get; }

    /// <summary>The containers checkpoints may be read from or written to: only the checkpoints container.</summary>
    public IReadOnlyCollection<string> CheckpointContainers => [Checkpoints.Name];

    /// <summary>The client of a container the app is configured for; any other name is refused.</summary>
    /// <exception cref="ArgumentException">The container is not one of <see cref="CheckpointContainers"/>.</exception>
    public BlobContainerClient Container(string name) => name == Checkpoints.Name
        ? Checkpoints
        : throw new ArgumentException($"container '{name}' is not one the app is configured for ({string.Join(", ", CheckpointContainers)})");

    /// <summary>Reads a checkpoint location, refusing blobs outside the configured account and containers.</summary>
    public CheckpointLocation ParseLocation(string text) => CheckpointLocation.Parse(text, Blobs.Uri, CheckpointContainers);

    /// <summary>Creates the containers and the queue when they do not exist (where the identity may: <see cref="CreateIfAllowedAsync(BlobContainerClient, CancellationToken)"/>).</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        await CreateIfAllowedAsync(Checkpoints, cancellationToken);
        await CreateIfAllowedAsync(Specs, cancellationToken);
        await CreateIfAllowedAsync(Reports, cancellationToken);
        await CreateIfAllowedAsync(Jobs, cancellationToken);
        await CreateIfAllowedAsync(JobsPoison, cancellationToken);
    }

    /// <summary>
    /// Creates a container when it does not exist. In Azure the templates create every container and queue and give
    /// each identity roles on single containers and queues only, which may not include creating one: a 403 is then
    /// taken to mean "made by the deployment", and the first real call says so if it was not.
    /// </summary>
    public static async Task CreateIfAllowedAsync(BlobContainerClient container, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(container);
        try
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 403)
        {
        }
    }

    /// <summary>Creates a queue when it does not exist; a 403 is tolerated as for containers (<see cref="CreateIfAllowedAsync(BlobContainerClient, CancellationToken)"/>).</summary>
    public static async Task CreateIfAllowedAsync(QueueClient queue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        try
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 403)
        {
        }
    }

    /// <summary>The job a <see cref="JobReference"/> points to, or null with the reason it cannot be used.</summary>
    public async Task<(Job? Job, string Problem)> ResolveJobAsync(JobReference reference, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        BinaryData content;
        try
        {
            content = (await Checkpoints.GetBlobClient(reference.JobBlob).DownloadContentAsync(cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return (null, $"the job blob '{reference.JobBlob}' the message refers to does not exist in container '{Checkpoints.Name}'");
        }

        Job? job;
        try
        {
            job = JsonSerializer.Deserialize(content.ToMemory().Span, SoupJson.Default.Job);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            return (null, $"the job blob '{reference.JobBlob}' is not a job: {ex.Message}");
        }

        return job is null or JobReference || job.PipelineId != reference.PipelineId || job.Slot != reference.Slot
            ? (null, $"the job blob '{reference.JobBlob}' does not hold job '{reference.JobId}'")
            : (job, "");
    }

    /// <summary>Puts <paramref name="message"/> on the poison queue (created if it does not exist).</summary>
    public async Task SendPoisonAsync(PoisonMessage message, CancellationToken cancellationToken = default)
    {
        var text = JsonSerializer.Serialize(message, SoupJson.Default.PoisonMessage);
        try
        {
            await JobsPoison.SendMessageAsync(text, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            await CreateIfAllowedAsync(JobsPoison, cancellationToken);
            await JobsPoison.SendMessageAsync(text, cancellationToken);
        }
    }

    /// <summary>
    /// A received message that is not base64 (another producer wrote it raw) cannot even be handed to the worker: the
    /// SDK raises this event instead. It goes to the poison queue with its raw body and leaves the jobs queue.
    /// Peeks are left alone.
    /// </summary>
    private async Task OnUndecodableMessageAsync(QueueMessageDecodingFailedEventArgs args)
    {
        if (args.ReceivedMessage is not { } message)
            return;
        var poison = PoisonMessage.Of(
            message.MessageId, "the message is not base64-encoded UTF-8 (jobs are base64-encoded JSON)", message.DequeueCount,
            message.Body?.ToString() ?? "", Environment.MachineName, DateTimeOffset.UtcNow);
        if (args.IsRunningSynchronously)
        {
            try
            {
                JobsPoison.CreateIfNotExists(cancellationToken: args.CancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 403)
            {
                // Made by the deployment; this identity may only send to it.
            }

            JobsPoison.SendMessage(JsonSerializer.Serialize(poison, SoupJson.Default.PoisonMessage), args.CancellationToken);
            args.Queue.DeleteMessage(message.MessageId, message.PopReceipt, args.CancellationToken);
            return;
        }

        await SendPoisonAsync(poison, args.CancellationToken);
        await args.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, args.CancellationToken);
    }

    /// <summary>The largest job sent inline: a queue message holds 64 KB after base64 (4/3), less some headroom.</summary>
    public const int MaxInlineJobBytes = 45 * 1024;

    /// <summary>
    /// Puts a job on the jobs queue. A job over <see cref="MaxInlineJobBytes"/> is written to its slot's <c>job.json</c>
    /// (the same content each time: dispatching it again is safe) and a <see cref="JobReference"/> to it is sent instead.
    /// </summary>
    public async Task SendJobAsync(Job job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var json = JsonSerializer.SerializeToUtf8Bytes(job, SoupJson.Default.Job);
        if (json.Length > MaxInlineJobBytes)
        {
            var blob = CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.JobFile);
            await Checkpoints.GetBlobClient(blob).UploadAsync(BinaryData.FromBytes(json), overwrite: true, cancellationToken);
            json = JsonSerializer.SerializeToUtf8Bytes<Job>(
                new JobReference { PipelineId = job.PipelineId, Slot = job.Slot, Model = job.Model, SpecHash = job.SpecHash, JobBlob = blob, PriorDeliveries = job.PriorDeliveries },
                SoupJson.Default.Job);
        }

        await Jobs.SendMessageAsync(Encoding.UTF8.GetString(json), cancellationToken);
    }

    /// <summary>
    /// Writes a blob only if none exists at that name (If-None-Match: *). Returns false when one already existed,
    /// which makes a redelivered job's write idempotent.
    /// </summary>
    public Task<bool> TryCreateBlobAsync(string blobName, Stream content, CancellationToken cancellationToken = default) =>
        TryCreateBlobAsync(blobName, content, metadata: null, cancellationToken);

    /// <summary>
    /// <see cref="TryCreateBlobAsync(string, Stream, CancellationToken)"/> with blob metadata (e.g. a job output's
    /// <see cref="LandingStamp"/>), written with the content in one request.
    /// </summary>
    public async Task<bool> TryCreateBlobAsync(string blobName, Stream content, IDictionary<string, string>? metadata, CancellationToken cancellationToken = default)
    {
        try
        {
            await Checkpoints.GetBlobClient(blobName).UploadAsync(
                content,
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All }, Metadata = metadata },
                cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <summary>Writes a small JSON document if none exists at that name.</summary>
    public Task<bool> TryCreateJsonAsync<T>(string blobName, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default) =>
        TryCreateJsonAsync(blobName, value, typeInfo, metadata: null, cancellationToken);

    /// <summary>Writes a small JSON document with blob metadata if none exists at that name.</summary>
    public Task<bool> TryCreateJsonAsync<T>(
        string blobName, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, IDictionary<string, string>? metadata, CancellationToken cancellationToken = default)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        return TryCreateBlobAsync(blobName, new MemoryStream(bytes), metadata, cancellationToken);
    }

    /// <summary>Reads a small JSON blob; a missing blob is a <see cref="RequestFailedException"/> with status 404.</summary>
    public async Task<T> ReadJsonAsync<T>(string blobName, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        var content = await Checkpoints.GetBlobClient(blobName).DownloadContentAsync(cancellationToken);
        return JsonSerializer.Deserialize(content.Value.Content.ToMemory().Span, typeInfo)
            ?? throw new InvalidDataException($"blob '{blobName}' holds JSON null");
    }

    /// <summary>Reads a small text blob, truncated to <paramref name="maxChars"/>.</summary>
    public async Task<string> ReadTextAsync(string blobName, int maxChars, CancellationToken cancellationToken = default)
    {
        var content = await Checkpoints.GetBlobClient(blobName).DownloadContentAsync(cancellationToken);
        var text = Encoding.UTF8.GetString(content.Value.Content.ToMemory().Span);
        return text.Length <= maxChars ? text : text[..maxChars];
    }
}
