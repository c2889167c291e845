using Soup.Merging.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>The running sums behind progress reports and the final metrics, saved with the state so a resumed run reports the same.</summary>
internal sealed class RunTotals
{
    private const string Name = "run.totals";

    /// <summary>Loss summed over the steps since the previous progress report.</summary>
    public double LossSinceReport { get; set; }

    /// <summary>Loss summed over the final window's steps so far.</summary>
    public double FinalLoss { get; set; }

    /// <summary>Examples classified right in the final window's steps so far.</summary>
    public double FinalCorrect { get; set; }

    /// <summary>The sums as one float64 state tensor.</summary>
    public TensorData Save()
    {
        using var values = tensor(new[] { LossSinceReport, FinalLoss, FinalCorrect });
        return StateTensors.ToData(Name, values);
    }

    /// <summary>Reads the sums <see cref="Save"/> wrote.</summary>
    public static RunTotals Load(StateReader reader)
    {
        using var values = zeros(3, ScalarType.Float64);
        reader.CopyInto(Name, values);
        var sums = values.data<double>().ToArray();
        return new RunTotals { LossSinceReport = sums[0], FinalLoss = sums[1], FinalCorrect = sums[2] };
    }
}
