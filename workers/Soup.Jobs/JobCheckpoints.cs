using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Training;
using Soup.Training.FineTuning;

namespace Soup.Jobs;

/// <summary>
/// A training job's side channel to storage while it runs: its progress (<c>progress.json</c>, overwritten at most
/// every few seconds and at each report the trainer makes) and its resumption checkpoint (<c>resume.safetensors</c>,
/// overwritten at each periodic checkpoint and when the job is stopped). The state carries a fingerprint of the job, so
/// a slot reused by a different job never resumes from a stranger's state. When the job leaves its checkpoint interval to
/// the worker, periodic saves are at least <paramref name="resumeInterval"/> apart (<see cref="WorkerOptions.ResumeInterval"/>).
/// </summary>
internal sealed partial class JobCheckpoints(SoupStorage storage, TrainJob job, JobHeartbeat heartbeat, TimeSpan resumeInterval, ILogger logger) : ITrainingObserver
{
    private const string FingerprintKey = "job_fingerprint";
    private readonly System.Diagnostics.Stopwatch _sinceSave = System.Diagnostics.Stopwatch.StartNew(); // from the job's start
    private readonly BlobClient _resumeBlob = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.ResumeFile));
    private readonly string _fingerprint = Fingerprint(job);

    /// <inheritdoc />
    public void Progress(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        heartbeat.Report(progress.Step, progress.TotalSteps, progress.Loss, progress.PerSecond, progress.Unit, progress.Reward, progress.Kl);
    }

    /// <inheritdoc />
    public bool WantsCheckpoint(int step) => job.Settings.CheckpointEvery > 0 || _sinceSave.Elapsed >= resumeInterval;

    /// <inheritdoc />
    public void Checkpoint(TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var stream = new MemoryStream();
        state.ToSafetensors(stream, new Dictionary<string, string> { [FingerprintKey] = _fingerprint, ["job_id"] = job.JobId });
        stream.Position = 0;
        try
        {
            // Not cancellable on purpose: this is also the save made while the worker shuts down.
            _resumeBlob.Upload(stream, overwrite: true);
            _sinceSave.Restart(); // a save that failed is tried again at the next interval of steps
            LogSaved(logger, job.JobId, state.Step);
        }
        catch (Exception ex) when (StorageRetry.IsTransient(ex))
        {
            // Storage is down: training goes on; the next periodic save tries again (a resumption starts from the
            // last save that made it, which is what a crash would give anyway).
            LogNotSaved(logger, job.JobId, state.Step, ex);
        }
    }

    /// <summary>The saved state of this very job, or null when there is none (or it belongs to another job, or is unreadable).</summary>
    public async Task<TrainingState?> LoadAsync(CancellationToken cancellationToken)
    {
        BinaryData content;
        try
        {
            content = (await _resumeBlob.DownloadContentAsync(cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        try
        {
            var file = Safetensors.Read(content.ToMemory(), _resumeBlob.Name);
            if (!file.Metadata.TryGetValue(FingerprintKey, out var saved) || saved != _fingerprint)
            {
                LogForeignState(logger, job.JobId);
                return null;
            }

            return TrainingState.FromContent(file, _resumeBlob.Name);
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
        {
            LogUnreadableState(logger, job.JobId, ex);
            return null;
        }
    }

    /// <summary>Removes the resumption state once the job's output is written (the last progress report stays).</summary>
    public async Task CleanUpAsync(CancellationToken cancellationToken)
    {
        await _resumeBlob.DeleteIfExistsAsync(cancellationToken: cancellationToken);
    }

    /// <summary>The job's identity for its saved state: its JSON, less the delivery count (a re-queued job is the same job).</summary>
    internal static string Fingerprint(Job job) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes<Job>(job with { PriorDeliveries = 0 }, SoupJson.Default.Job)));

    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "Job {JobId}: resumption state saved at step {Step}")]
    private static partial void LogSaved(ILogger logger, string jobId, int step);

    [LoggerMessage(EventId = 424, Level = LogLevel.Warning, Message = "Job {JobId}: the resumption state at step {Step} could not be saved; training goes on")]
    private static partial void LogNotSaved(ILogger logger, string jobId, int step, Exception exception);

    [LoggerMessage(EventId = 422, Level = LogLevel.Warning, Message = "Job {JobId}: the saved resumption state belongs to another job; starting over")]
    private static partial void LogForeignState(ILogger logger, string jobId);

    [LoggerMessage(EventId = 423, Level = LogLevel.Warning, Message = "Job {JobId}: the saved resumption state is unreadable; starting over")]
    private static partial void LogUnreadableState(ILogger logger, string jobId, Exception exception);
}
