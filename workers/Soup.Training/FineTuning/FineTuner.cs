using System.Diagnostics;
using Soup.Merging.Checkpoints;
using static TorchSharp.torch;
using Soup.Training.Data;

namespace Soup.Training.FineTuning;

/// <summary>Fine-tunes one member of a soup.</summary>
public static class FineTuner
{
    /// <summary>Fine-tunes an image classifier on <paramref name="train"/> (cross-entropy, class-weighted when the settings ask).</summary>
    /// <inheritdoc cref="Run(FineTuneOptions, TrainingObjective, IReadOnlyList{TensorData}?, TrainingState?, ITrainingObserver?, CancellationToken)"/>
    public static FineTuneResult Run(
        FineTuneOptions options,
        ILabelledImages train,
        IReadOnlyList<TensorData>? init,
        TrainingState? resume,
        ITrainingObserver? observer,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var objective = new ImageClassification(train, options.Settings?.ClassWeights);
        return Run(options, objective, init, resume, observer, cancellationToken);
    }

    /// <summary>
    /// Trains the objective's model on its loss with the optimizer, dropout, linear probe, weight average and anchor of
    /// the settings, on CUDA when available, else the CPU. Batches come from epochs permuted by (Seed, epoch) and
    /// augmentation from a generator seeded by (Seed, step); the next batch is prepared on a background task while a
    /// step runs. On the CPU the same options, data and initial weights give bit-identical weights, and resuming from a
    /// <see cref="TrainingState"/> gives the weights the uninterrupted run gives.
    /// </summary>
    /// <param name="options">The model and settings; validated against <paramref name="objective"/>.</param>
    /// <param name="objective">What is trained, on which examples.</param>
    /// <param name="init">Initial weights (fitting the model as the objective loads them), or null for an initialisation seeded by Seed.</param>
    /// <param name="resume">A state from <see cref="ITrainingObserver.Checkpoint"/> of a run with the same options and data, or null.</param>
    /// <param name="observer">Hears progress and checkpoints, on this thread; may be null.</param>
    /// <param name="cancellationToken">
    /// Checked before every step: when cancelled, the current state goes to <see cref="ITrainingObserver.Checkpoint"/>
    /// (if the run advanced since the last checkpoint), then <see cref="OperationCanceledException"/> is thrown.
    /// </param>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it and its value.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="InvalidDataException"><paramref name="init"/> or <paramref name="resume"/> does not match the run.</exception>
    public static FineTuneResult Run(
        FineTuneOptions options,
        TrainingObjective objective,
        IReadOnlyList<TensorData>? init,
        TrainingState? resume,
        ITrainingObserver? observer,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(objective);
        options.Validate(objective);
        var settings = options.Settings;
        if (resume is not null && (resume.Step < 0 || resume.Step >= settings.Steps))
            throw new ArgumentException($"The training state is at step {resume.Step}; the run has {settings.Steps} steps.", nameof(resume));

        using var run = new TrainingRun(options, objective, init, TorchDevice.Preferred());
        var totals = resume is null ? new RunTotals() : run.Restore(resume, $"training state at step {resume.Step}");
        var first = (resume?.Step ?? 0) + 1;
        var sampler = new BatchSampler(objective.Count, settings.BatchSize, settings.Seed);
        var reportEvery = Math.Max(1, (settings.Steps + 9) / 10);
        var finalWindow = Math.Max(1, settings.Steps / 10);
        var checkpointEvery = options.CheckpointInterval;
        var lastCheckpoint = first - 1;
        var stopwatch = new Stopwatch();
        var next = Prefetch(objective, sampler, settings.Seed, first);
        long units = 0;
        try
        {
            stopwatch.Start();
            for (var step = first; step <= settings.Steps; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (step - 1 > lastCheckpoint)
                        Pause(stopwatch, () => observer?.Checkpoint(run.Capture(step - 1, totals)));
                    cancellationToken.ThrowIfCancellationRequested();
                }
                var batch = next!.GetAwaiter().GetResult();
                next = step < settings.Steps ? Prefetch(objective, sampler, settings.Seed, step + 1) : null;
                var inFinalWindow = step > settings.Steps - finalWindow;
                double loss;
                long correct;
                using (batch)
                    (loss, correct) = run.Step(batch, step, inFinalWindow);
                units += batch.Units;

                totals.LossSinceReport += loss;
                if (inFinalWindow)
                {
                    totals.FinalLoss += loss;
                    totals.FinalCorrect += correct;
                }
                if (step % reportEvery == 0 || step == settings.Steps)
                {
                    var stepsSinceReport = step - ((step - 1) / reportEvery * reportEvery);
                    var report = new TrainingProgress(
                        step, settings.Steps, totals.LossSinceReport / stepsSinceReport, Throughput(units, stopwatch), objective.Unit);
                    totals.LossSinceReport = 0;
                    Pause(stopwatch, () => observer?.Progress(report));
                }
                if (step % checkpointEvery == 0 && step < settings.Steps && observer?.WantsCheckpoint(step) == true)
                {
                    Pause(stopwatch, () => observer?.Checkpoint(run.Capture(step, totals)));
                    lastCheckpoint = step;
                }
            }
            stopwatch.Stop();
        }
        finally
        {
            Discard(next);
        }

        return new FineTuneResult(
            run.Output(settings.Steps),
            totals.FinalLoss / finalWindow,
            totals.FinalCorrect / ((double)finalWindow * sampler.BatchSize * objective.PredictionsPerExample),
            settings.Steps,
            Throughput(units, stopwatch),
            objective.Unit);
    }

    /// <summary>Reads the batch of <paramref name="step"/> on a background task; the data is only ever read by one task at a time.</summary>
    private static Task<TrainingBatch> Prefetch(TrainingObjective objective, BatchSampler sampler, int seed, int step) =>
        Task.Run(() => objective.Batch(sampler.Indices(step), new Random(StreamSeed.Of(seed, StreamSeed.Augment, step))));

    private static void Discard(Task<TrainingBatch>? pending)
    {
        if (pending is null)
            return;
        try
        {
            pending.GetAwaiter().GetResult().Dispose();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The run already failed or finished; a batch nobody will use may fail to load without changing that.
        }
    }

    private static void Pause(Stopwatch stopwatch, Action action)
    {
        stopwatch.Stop();
        action();
        stopwatch.Start();
    }

    private static double Throughput(long units, Stopwatch stopwatch)
        => units / Math.Max(stopwatch.Elapsed.TotalSeconds, 1e-9);
}
