using System.Diagnostics;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Soup.Core;
using Soup.Core.Checkpoints;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Training;

namespace Soup.Jobs;

/// <summary>
/// A training job's side channel to storage while it runs: its progress (<c>progress.json</c>, overwritten at most
/// every few seconds and at each report the trainer makes) and its resumption checkpoint (<c>resume.safetensors</c>,
/// overwritten at each periodic checkpoint and when the job is stopped). The state carries a fingerprint of the job, so
/// a slot reused by a different job never resumes from a stranger's state.
/// </summary>
internal sealed partial class JobCheckpoints(SoupStorage storage, TrainJob job, string worker, ILogger logger) : ITrainingObserver
{
    private const string FingerprintKey = "job_fingerprint";
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);
    private readonly BlobClient progressBlob = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.ProgressFile));
    private readonly BlobClient resumeBlob = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.ResumeFile));
    private readonly string fingerprint = Fingerprint(job);
    private readonly Stopwatch sinceProgress = Stopwatch.StartNew();
    private bool wroteProgress;

    /// <inheritdoc />
    public void Progress(TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (wroteProgress && sinceProgress.Elapsed < ProgressInterval && progress.Step < progress.TotalSteps)
            return;
        var record = new JobProgress(job.JobId, progress.Step, progress.TotalSteps, progress.Loss, progress.ImagesPerSecond, worker, DateTimeOffset.UtcNow);
        try
        {
            progressBlob.Upload(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(record, SoupJson.Default.JobProgress)), overwrite: true);
            wroteProgress = true;
            sinceProgress.Restart();
        }
        catch (RequestFailedException ex)
        {
            LogProgressNotWritten(logger, job.JobId, ex); // Progress is informative: never fail training for it.
        }
    }

    /// <inheritdoc />
    public void Checkpoint(TrainingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var stream = new MemoryStream();
        state.ToSafetensors(stream, new Dictionary<string, string> { [FingerprintKey] = fingerprint, ["job_id"] = job.JobId });
        stream.Position = 0;
        // Not cancellable on purpose: this is also the save made while the worker shuts down.
        resumeBlob.Upload(stream, overwrite: true);
        LogSaved(logger, job.JobId, state.Step);
    }

    /// <summary>The saved state of this very job, or null when there is none (or it belongs to another job, or is unreadable).</summary>
    public async Task<TrainingState?> LoadAsync(CancellationToken cancellationToken)
    {
        BinaryData content;
        try
        {
            content = (await resumeBlob.DownloadContentAsync(cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        try
        {
            var file = Safetensors.Read(content.ToMemory(), resumeBlob.Name);
            if (!file.Metadata.TryGetValue(FingerprintKey, out var saved) || saved != fingerprint)
            {
                LogForeignState(logger, job.JobId);
                return null;
            }

            return TrainingState.FromContent(file, resumeBlob.Name);
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
        await resumeBlob.DeleteIfExistsAsync(cancellationToken: cancellationToken);
    }

    private static string Fingerprint(TrainJob job) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes<Job>(job, SoupJson.Default.Job)));

    [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "Job {JobId}: resumption state saved at step {Step}")]
    private static partial void LogSaved(ILogger logger, string jobId, int step);

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "Job {JobId}: progress could not be written")]
    private static partial void LogProgressNotWritten(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 422, Level = LogLevel.Warning, Message = "Job {JobId}: the saved resumption state belongs to another job; starting over")]
    private static partial void LogForeignState(ILogger logger, string jobId);

    [LoggerMessage(EventId = 423, Level = LogLevel.Warning, Message = "Job {JobId}: the saved resumption state is unreadable; starting over")]
    private static partial void LogUnreadableState(ILogger logger, string jobId, Exception exception);
}
