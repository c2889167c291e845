using System.Globalization;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Core;
using Soup.Core.Checkpoints;
using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Training;

namespace Soup.Jobs;

/// <summary>
/// Runs one job: reads its data and checkpoints, trains or evaluates, and writes the result to the job's slot with a
/// conditional create, so a redelivered job that already finished writes nothing new.
/// </summary>
public sealed partial class JobRunner(SoupStorage storage, IOptions<WorkerOptions> options, ILogger<JobRunner> logger)
{
    /// <summary>The blob a job's success writes.</summary>
    public static string OutputBlob(Job job) => CheckpointLayout.Blob(
        job.PipelineId, job.Slot, job is EvaluateJob ? CheckpointLayout.EvaluationFile : CheckpointLayout.CheckpointFile);

    /// <summary>Runs <paramref name="job"/>; throws <see cref="JobFailedException"/> when it can never succeed.</summary>
    public async Task RunAsync(Job job, CancellationToken cancellationToken)
    {
        var output = OutputBlob(job);
        if (await storage.Checkpoints.GetBlobClient(output).ExistsAsync(cancellationToken))
        {
            LogAlreadyDone(logger, job.JobId);
            return;
        }

        LogStarting(logger, job.JobId);
        switch (job)
        {
            case TrainJob train:
                await TrainAsync(train, output, cancellationToken);
                break;
            case EvaluateJob evaluate:
                await EvaluateAsync(evaluate, output, cancellationToken);
                break;
            default:
                throw new JobFailedException($"job '{job.JobId}' has an unknown kind {job.GetType().Name}");
        }
    }

    /// <summary>Writes the failure record the pipeline sees (once: a second record for the same job is not written).</summary>
    public Task RecordFailureAsync(Job job, string reason, CancellationToken cancellationToken) =>
        storage.TryCreateJsonAsync(
            CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.FailureFile),
            new FailureRecord(job.JobId, reason, options.Value.WorkerName, DateTimeOffset.UtcNow),
            SoupJson.Default.FailureRecord,
            cancellationToken);

    private async Task TrainAsync(TrainJob job, string output, CancellationToken cancellationToken)
    {
        using var data = LoadData(job.Data);
        var init = job.InitCheckpoint is null ? null : await ReadCheckpointAsync(job.InitCheckpoint, "init checkpoint", cancellationToken);
        var s = job.Settings;
        var fineTune = new FineTuneOptions(job.Model, s.Steps, s.BatchSize, s.LearningRate, s.Momentum, s.WeightDecay, s.Seed);
        var progress = new Progress<TrainingProgress>(p => LogProgress(logger, job.JobId, p.Step, p.TotalSteps, p.Loss));
        FineTuneResult result;
        try
        {
            result = await Task.Run(() => FineTuner.Run(fineTune, data, init, progress, cancellationToken), cancellationToken);
        }
        catch (TrainingDivergedException ex)
        {
            throw new JobFailedException(ex.Message, ex);
        }

        var metadata = new Dictionary<string, string>
        {
            ["job_id"] = job.JobId,
            ["model"] = job.Model,
            ["dataset"] = job.Data.Dataset,
            ["base_checkpoint"] = job.InitCheckpoint ?? "",
            ["learning_rate"] = Invariant(s.LearningRate),
            ["momentum"] = Invariant(s.Momentum),
            ["weight_decay"] = Invariant(s.WeightDecay),
            ["batch_size"] = Invariant(s.BatchSize),
            ["steps"] = Invariant(result.Steps),
            ["seed"] = Invariant(s.Seed),
            ["final_train_loss"] = Invariant(result.FinalLoss),
        };
        using var stream = new MemoryStream();
        Safetensors.Write(stream, result.Weights, metadata);
        stream.Position = 0;
        await storage.TryCreateBlobAsync(output, stream, cancellationToken);
        LogTrained(logger, job.JobId, result.FinalLoss, result.ImagesPerSecond);
    }

    private async Task EvaluateAsync(EvaluateJob job, string output, CancellationToken cancellationToken)
    {
        var split = job.Splits[0];
        using var data = LoadData(split.Data);
        var checkpoints = new List<IReadOnlyList<TensorData>>();
        foreach (var blob in job.Checkpoints)
        {
            checkpoints.Add(await ReadCheckpointAsync(blob, "checkpoint to evaluate", cancellationToken));
        }

        var results = await Task.Run(() => Evaluator.Evaluate(job.Model, checkpoints, data), cancellationToken);
        var scores = job.Checkpoints.Select((blob, i) => new CheckpointScore(blob, split.Name, results[i].Accuracy, results[i].Loss)).ToList();
        var report = new EvaluationReport { Splits = [new SplitSize(split.Name, data.Count)], Scores = scores };
        await storage.TryCreateJsonAsync(output, report, SoupJson.Default.EvaluationReport, cancellationToken);
    }

    private ImageClassificationData LoadData(DataRef data)
    {
        var folder = Path.Combine(options.Value.DataRoot, data.Dataset);
        try
        {
            var split = data.Part switch
            {
                DataParts.In => DatasetCatalog.TrainSplit,
                DataParts.Out => DatasetCatalog.ValidationSplit,
                _ => DatasetCatalog.TestSplit,
            };
            return DatasetCatalog.Load(folder, split, data.Limit, data.HoldoutFraction, data.SplitSeed);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            throw new JobFailedException($"dataset '{data.Dataset}' cannot be read from '{folder}': {ex.Message}", ex);
        }
    }

    private async Task<IReadOnlyList<TensorData>> ReadCheckpointAsync(string blobName, string role, CancellationToken cancellationToken)
    {
        BinaryData content;
        try
        {
            content = (await storage.Checkpoints.GetBlobClient(blobName).DownloadContentAsync(cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new JobFailedException($"{role} '{blobName}' does not exist in container '{storage.Checkpoints.Name}'", ex);
        }

        try
        {
            return Safetensors.Read(content.ToMemory(), blobName).Tensors;
        }
        catch (InvalidDataException ex)
        {
            throw new JobFailedException($"{role} '{blobName}' is not a valid safetensors file: {ex.Message}", ex);
        }
    }

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Job {JobId} already has its output; nothing to do")]
    private static partial void LogAlreadyDone(ILogger logger, string jobId);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Job {JobId} starting")]
    private static partial void LogStarting(ILogger logger, string jobId);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "Job {JobId} step {Step}/{Total}, loss {Loss:F4}")]
    private static partial void LogProgress(ILogger logger, string jobId, int step, int total, double loss);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Job {JobId} trained: final loss {Loss:F4}, {ImagesPerSecond:F0} images/s")]
    private static partial void LogTrained(ILogger logger, string jobId, double loss, double imagesPerSecond);
}
