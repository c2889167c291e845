namespace Soup.Training.FineTuning;

/// <summary>Hears from a fine-tuning run, synchronously on the training thread (a slow observer slows the run).</summary>
public interface ITrainingObserver
{
    /// <summary>A report sent about every tenth of the steps and after the last.</summary>
    void Progress(TrainingProgress progress);

    /// <summary>
    /// A resumption checkpoint: every <see cref="FineTuneOptions.CheckpointInterval"/> steps (not after the last), and
    /// on cancellation when the run advanced since the previous one. Passing it to <see cref="FineTuner.Run"/> as
    /// <c>resume</c> continues the run bit-identically on the CPU.
    /// </summary>
    void Checkpoint(TrainingState state);

    /// <summary>
    /// Whether the periodic resumption checkpoint due at <paramref name="step"/> is wanted; asked before the state is
    /// captured. The save on cancellation is always made. Default: every one.
    /// </summary>
    bool WantsCheckpoint(int step) => true;
}
