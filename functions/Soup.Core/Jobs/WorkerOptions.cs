namespace Soup.Core.Jobs;

/// <summary>Settings of a job worker, read from the configuration root with these names.</summary>
public sealed class WorkerOptions
{
    /// <summary>The folder holding one sub-folder of IDX files per dataset (Debian puts Fashion-MNIST in
    /// /usr/share/datasets/fashion-mnist).</summary>
    public string DataRoot { get; set; } = "/usr/share/datasets";

    /// <summary>The folder where datasets named <c>blob:&lt;container&gt;/&lt;prefix&gt;</c> are downloaded once and kept.</summary>
    public string DataCache { get; set; } = Path.Combine(Path.GetTempPath(), "soup-data-cache");

    /// <summary>The most blobs a <c>blob:</c> dataset may hold: a larger one fails its job before anything is downloaded.</summary>
    public int MaxDatasetFiles { get; set; } = 2_000_000;

    /// <summary>The most bytes a <c>blob:</c> dataset may hold (default 64 GiB): a larger one fails its job before anything is downloaded.</summary>
    public long MaxDatasetBytes { get; set; } = 64L << 30;

    /// <summary>How long the worker waits between polls of an empty queue.</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a received job stays invisible to other workers; renewed while the job runs.</summary>
    public TimeSpan JobVisibilityTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A job delivered this many times without finishing is recorded as failed (a poison job).</summary>
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>The worker stops once the queue has been empty this long (zero: never). A Container Apps job execution
    /// started for a queued job thus ends, and releases its GPU, when there is nothing left to do.</summary>
    public TimeSpan IdleShutdown { get; set; } = TimeSpan.Zero;

    /// <summary>How often a running job rewrites its <c>progress.json</c> even without progress: its heartbeat, which the
    /// orchestration reads to tell a slow job from a lost one.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The least time between two periodic resumption checkpoints of a training job that leaves
    /// <c>checkpointEvery</c> to the worker (0): the worker's step interval (a tenth of the steps, at most 50) can be
    /// seconds apart on a GPU, and each save writes the weights and the optimizer's state. Zero: a save at every such
    /// interval. A job that sets <c>checkpointEvery</c> is saved exactly that often, and a stopped job (SIGTERM, a
    /// dropped job) is always saved.
    /// </summary>
    public TimeSpan ResumeInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A job whose heartbeat is younger than this is alive: a second message for it (a re-dispatch) is dropped
    /// instead of training the job twice. Longer than <see cref="HeartbeatInterval"/>.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a running job reads its pipeline's and its slot's cancellation markers (two reads). Every job of
    /// a pipeline reads the same pipeline marker: 1,024 jobs checking every 30 s make 34 reads/s on that blob, well within
    /// the ~500 requests/s one blob serves; every 5 s they made 205.</summary>
    public TimeSpan CancellationCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a storage call that would lose work (writing a job's output or failure record, deleting its
    /// message) keeps being retried through an outage.</summary>
    public TimeSpan StorageRetryLimit { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The retry of storage calls through an outage, bounded by <see cref="StorageRetryLimit"/>.</summary>
    public Soup.Core.Storage.StorageRetry StorageRetry => Soup.Core.Storage.StorageRetry.Default with { Limit = StorageRetryLimit };

    /// <summary>The name recorded in failure records (defaults to the machine name).</summary>
    public string WorkerName { get; set; } = Environment.MachineName;
}
