using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Soup.Orchestration;

namespace Soup.Functions;

/// <summary>
/// Fan-in: a blob landing in the checkpoints container completes the job whose folder it lands in. The worker that
/// wrote it tells nobody; these triggers raise the event the pipeline waits for. Two functions share the handler: on
/// Azure, Event Grid delivers the landings (<see cref="EventGridFunction"/>); on Azurite, which has no Event Grid, the
/// container is scanned (<see cref="ScanFunction"/>). The scan is compiled only into local builds (Debug, what
/// <c>func start</c> builds, or <c>-p:LandingScan=true</c>): Flex Consumption refuses to load a blob trigger whose
/// source is not Event Grid, even a disabled one, so the Release build published to Azure does not have it. Locally,
/// local.settings.sample.json switches the Event Grid function off (<c>AzureWebJobs.CheckpointLanded.Disabled</c>).
/// </summary>
public sealed class CheckpointLandedFunction(CheckpointLandingHandler handler)
{
    /// <summary>The function Event Grid delivers to (its webhook names it: <c>functionName=Host.Functions.CheckpointLanded</c>).</summary>
    public const string EventGridFunction = "CheckpointLanded";

    /// <summary>The polling function, for Azurite (local builds only).</summary>
    public const string ScanFunction = "CheckpointLandedScan";

    /// <summary>Runs for every blob Event Grid reports created in the checkpoints container.</summary>
    [Function(EventGridFunction)]
    public Task RunFromEventGrid(
        [BlobTrigger("%CheckpointsContainer%/{name}", Connection = "SoupStorage", Source = BlobTriggerSource.EventGrid)] BlobClient blob,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) => HandleAsync(blob, name, client, cancellationToken);

#if LANDING_SCAN
    /// <summary>Runs for every new or updated blob found by scanning the checkpoints container.</summary>
    [Function(ScanFunction)]
    public Task RunFromScan(
        [BlobTrigger("%CheckpointsContainer%/{name}", Connection = "SoupStorage")] BlobClient blob,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) => HandleAsync(blob, name, client, cancellationToken);
#endif

    private Task HandleAsync(BlobClient blob, string name, DurableTaskClient client, CancellationToken cancellationToken)
    {
        // Bound as a client so that the trigger never downloads a checkpoint: the name is all the handler needs.
        _ = blob;
        return handler.HandleAsync(client, name, cancellationToken);
    }
}
