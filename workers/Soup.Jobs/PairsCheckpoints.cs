using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Training.Text;

namespace Soup.Jobs;

/// <summary>
/// A pairs job's resumption state while it samples (<c>resume.json</c> in its slot): where the sampling stands and the
/// pairs it has made (<see cref="PairSamplingState"/>), saved at most once per <paramref name="resumeInterval"/> and
/// when the job is stopped (and, as each save writes every pair made so far, never more often than keeps saving under a
/// fifth of the job's time), so a preempted job samples on from there instead of from the start. It carries the job's
/// fingerprint: a slot reused by a different job never resumes from a stranger's pairs.
/// </summary>
internal sealed partial class PairsCheckpoints(SoupStorage storage, PairsJob job, TimeSpan resumeInterval, ILogger logger) : IPairSamplingObserver
{
    private readonly BlobClient _blob = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.SamplingStateFile));
    private readonly string _fingerprint = JobCheckpoints.Fingerprint(job);
    private readonly System.Diagnostics.Stopwatch _sinceSave = System.Diagnostics.Stopwatch.StartNew();
    private TimeSpan _lastSave; // how long the last save took

    /// <inheritdoc />
    public bool WantsSave() => _sinceSave.Elapsed >= resumeInterval && _sinceSave.Elapsed >= 4 * _lastSave;

    /// <inheritdoc />
    public bool Save(PairSamplingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new SavedPairSampling(_fingerprint, job.JobId, state), PairsJson.Default.SavedPairSampling);
        try
        {
            // Not cancellable on purpose: this is also the save made while the worker shuts down.
            _blob.Upload(BinaryData.FromBytes(bytes), overwrite: true);
            _lastSave = clock.Elapsed;
            _sinceSave.Restart();
            LogSaved(logger, job.JobId, state.Made.Sum(m => m.Count), state.Part);
            return true;
        }
        catch (Exception ex) when (StorageRetry.IsTransient(ex))
        {
            LogNotSaved(logger, job.JobId, ex); // sampling goes on; the next save tries again
            return false;
        }
    }

    /// <summary>The saved state of this very job, or null when there is none (or it belongs to another job, or is unreadable).</summary>
    public async Task<PairSamplingState?> LoadAsync(CancellationToken cancellationToken)
    {
        BinaryData content;
        try
        {
            content = (await _blob.DownloadContentAsync(cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        try
        {
            var saved = JsonSerializer.Deserialize(content.ToMemory().Span, PairsJson.Default.SavedPairSampling);
            if (saved?.Fingerprint != _fingerprint)
            {
                LogForeign(logger, job.JobId);
                return null;
            }

            // A state this job's sampling cannot go on from is as good as none: three parts, none missing, a place in range.
            if (saved.State is not { Made: { Count: 3 } made, Part: >= 0 and <= 2, Pass: >= 0, Start: >= 0 } state || made.Any(m => m is null || m.Any(p => p is null)))
                throw new JsonException("the saved state is not a sampling state of three parts");
            return state;
        }
        catch (JsonException ex)
        {
            LogUnreadable(logger, job.JobId, ex);
            return null;
        }
    }

    [LoggerMessage(EventId = 434, Level = LogLevel.Information, Message = "Job {JobId}: sampling state saved ({Pairs} pairs made, part {Part})")]
    private static partial void LogSaved(ILogger logger, string jobId, int pairs, int part);

    [LoggerMessage(EventId = 435, Level = LogLevel.Warning, Message = "Job {JobId}: the sampling state could not be saved; sampling goes on")]
    private static partial void LogNotSaved(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 436, Level = LogLevel.Warning, Message = "Job {JobId}: the saved sampling state belongs to another job; sampling from the start")]
    private static partial void LogForeign(ILogger logger, string jobId);

    [LoggerMessage(EventId = 437, Level = LogLevel.Warning, Message = "Job {JobId}: the saved sampling state is unreadable; sampling from the start")]
    private static partial void LogUnreadable(ILogger logger, string jobId, Exception exception);
}

/// <summary>What <see cref="PairsCheckpoints"/> stores.</summary>
internal sealed record SavedPairSampling(string Fingerprint, string JobId, PairSamplingState? State);

[JsonSerializable(typeof(SavedPairSampling))]
internal sealed partial class PairsJson : JsonSerializerContext;
