using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Jobs;

/// <summary>
/// A running job's <c>progress.json</c>: its progress and its heartbeat. Progress from the trainer is written at most
/// every two seconds; whatever the job does (loading data, evaluating, training), the record is rewritten at least every
/// <c>interval</c>, so the blob's Last-Modified tells the orchestration and other workers that this copy is alive. On a
/// hand-back the record says <see cref="JobStates.Released"/>. Writes never fail the job: a failed one is logged and
/// the next one tries again.
/// </summary>
internal sealed partial class JobHeartbeat : IAsyncDisposable
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);
    private readonly BlobClient _blob;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly System.Diagnostics.Stopwatch _sinceWrite = new();
    private readonly TimeSpan _interval;
    private Task _beat = Task.CompletedTask;
    private JobProgress _current;

    private JobHeartbeat(SoupStorage storage, Job job, string messageId, string worker, TimeSpan interval, ILogger logger, bool start = true)
    {
        _blob = storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.ProgressFile));
        this._logger = logger;
        this._interval = interval;
        _current = new JobProgress(job.JobId, 0, job is TrainJob t ? t.Settings.Steps : 0, 0, 0, worker, DateTimeOffset.UtcNow, JobStates.Running, messageId);
        if (start)
            Start();
    }

    /// <summary>Starts the beat loop.</summary>
    private void Start() => _beat = BeatAsync();

    /// <summary>Writes the first record (state running) unconditionally and starts beating (a job run outside the queue).</summary>
    public static async Task<JobHeartbeat> StartAsync(SoupStorage storage, Job job, string messageId, string worker, TimeSpan interval, ILogger logger)
    {
        var heartbeat = new JobHeartbeat(storage, job, messageId, worker, interval, logger);
        await heartbeat.WriteAsync(heartbeat._current, CancellationToken.None);
        return heartbeat;
    }

    /// <summary>
    /// Claims <paramref name="job"/> for the delivery <paramref name="messageId"/>: unless another copy is alive (its
    /// heartbeat, written by another message, younger than <paramref name="timeout"/> by the service's own clock), writes
    /// the first heartbeat on the condition that nobody wrote one since it was read (If-Match / If-None-Match), so two
    /// copies received at the same moment cannot both train. Returns the started heartbeat, or the live copy's record.
    /// </summary>
    public static async Task<(JobHeartbeat? Heartbeat, JobProgress? OtherCopy)> ClaimAsync(
        SoupStorage storage, Job job, string messageId, string worker, TimeSpan interval, TimeSpan timeout, ILogger logger, CancellationToken cancellationToken)
    {
        var heartbeat = new JobHeartbeat(storage, job, messageId, worker, interval, logger, start: false);
        var (record, etag, age) = await ReadAsync(heartbeat._blob, cancellationToken);
        if (record is { State: JobStates.Running } && record.MessageId is { } other && other != messageId && age < timeout)
            return (null, record);

        var conditions = etag is { } e ? new BlobRequestConditions { IfMatch = e } : new BlobRequestConditions { IfNoneMatch = ETag.All };
        try
        {
            await heartbeat._blob.UploadAsync(
                Serialize(heartbeat._current with { UpdatedAt = DateTimeOffset.UtcNow }), new BlobUploadOptions { Conditions = conditions }, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Another delivery wrote its heartbeat between our read and our write: it has the job.
            var (winner, _, _) = await ReadAsync(heartbeat._blob, cancellationToken);
            return (null, winner ?? record ?? heartbeat._current with { MessageId = "another delivery" });
        }

        heartbeat._sinceWrite.Restart();
        heartbeat.Start();
        return (heartbeat, null);
    }

    private static async Task<(JobProgress? Record, ETag? ETag, TimeSpan Age)> ReadAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        Response<BlobDownloadResult> response;
        try
        {
            response = await blob.DownloadContentAsync(cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return (null, null, TimeSpan.MaxValue);
        }

        // Age by the service's own clock: the response's Date against the blob's Last-Modified.
        var age = (response.GetRawResponse().Headers.Date ?? DateTimeOffset.UtcNow) - response.Value.Details.LastModified;
        try
        {
            return (JsonSerializer.Deserialize(response.Value.Content.ToMemory().Span, SoupJson.Default.JobProgress), response.Value.Details.ETag, age);
        }
        catch (JsonException)
        {
            return (null, response.Value.Details.ETag, age);
        }
    }

    /// <summary>The trainer's progress (called on the training thread).</summary>
    public void Report(int step, int totalSteps, double loss, double perSecond, string unit, double? reward = null, double? kl = null)
    {
        var record = _current with { Step = step, TotalSteps = totalSteps, Loss = loss, PerSecond = perSecond, Unit = unit, Reward = reward, Kl = kl };
        _current = record;
        if (_sinceWrite.IsRunning && _sinceWrite.Elapsed < ProgressInterval && step < totalSteps)
            return;
        _writing.Wait();
        try
        {
            _blob.Upload(Serialize(record with { UpdatedAt = DateTimeOffset.UtcNow }), overwrite: true);
            _sinceWrite.Restart();
        }
        catch (Exception ex) when (StorageRetry.IsTransient(ex) || ex is RequestFailedException)
        {
            LogNotWritten(_logger, record.JobId, ex);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Stops beating and marks the job released: handed back, to resume elsewhere.</summary>
    public async Task ReleaseAsync()
    {
        await StopAsync();
        await WriteAsync(_current with { State = JobStates.Released }, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _writing.Dispose();
    }

    private async Task StopAsync()
    {
        if (_stop.IsCancellationRequested)
            return;
        await _stop.CancelAsync();
        try
        {
            await _beat;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task BeatAsync()
    {
        await Task.Yield();
        while (true)
        {
            var due = _interval - _sinceWrite.Elapsed;
            await Task.Delay(due > TimeSpan.Zero ? due : TimeSpan.Zero, _stop.Token);
            if (_sinceWrite.Elapsed >= _interval)
                await WriteAsync(_current, _stop.Token);
        }
    }

    private async Task WriteAsync(JobProgress record, CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            await _blob.UploadAsync(Serialize(record with { UpdatedAt = DateTimeOffset.UtcNow }), overwrite: true, cancellationToken);
        }
        catch (Exception ex) when (ex is RequestFailedException || StorageRetry.IsTransient(ex, cancellationToken))
        {
            LogNotWritten(_logger, record.JobId, ex);
        }
        finally
        {
            _sinceWrite.Restart(); // a failed write waits a whole interval too: no hammering during an outage
            _writing.Release();
        }
    }

    private static BinaryData Serialize(JobProgress record) => BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(record, SoupJson.Default.JobProgress));

    [LoggerMessage(EventId = 421, Level = LogLevel.Warning, Message = "Job {JobId}: progress/heartbeat could not be written")]
    private static partial void LogNotWritten(ILogger logger, string jobId, Exception exception);
}
