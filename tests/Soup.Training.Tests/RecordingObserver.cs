using Soup.Training.FineTuning;
namespace Soup.Training.Tests;

/// <summary>Records what a run reports; optionally cancels a token once a given step has been reported.</summary>
internal sealed class RecordingObserver(CancellationTokenSource? cancelAfter = null, int cancelAtStep = 0) : ITrainingObserver
{
    public List<TrainingProgress> Reports { get; } = [];

    public List<TrainingState> Checkpoints { get; } = [];

    public void Progress(TrainingProgress progress)
    {
        Reports.Add(progress);
        if (cancelAfter is not null && progress.Step == cancelAtStep)
            cancelAfter.Cancel();
    }

    public void Checkpoint(TrainingState state) => Checkpoints.Add(state);
}
