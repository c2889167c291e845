using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Soup.Orchestration;

namespace Soup.Functions;

/// <summary>
/// Fan-in: a blob landing in the checkpoints container completes the job whose folder it lands in. The worker that
/// wrote it tells nobody; this trigger raises the event the pipeline waits for.
/// </summary>
public sealed class CheckpointLandedFunction(CheckpointLandingHandler handler)
{
    /// <summary>Runs for every new or updated blob in the checkpoints container.</summary>
    [Function("CheckpointLanded")]
    public Task Run(
        [BlobTrigger("%CheckpointsContainer%/{name}", Connection = "SoupStorage")] BlobClient blob,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        // Bound as a client so that the trigger never downloads a checkpoint: the name is all the handler needs.
        _ = blob;
        return handler.HandleAsync(client, name, cancellationToken);
    }
}
