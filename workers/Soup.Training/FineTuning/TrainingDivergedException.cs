using System.Globalization;

namespace Soup.Training.FineTuning;

/// <summary>The training loss became NaN or infinite: the run cannot produce usable weights.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for the step whose loss was not finite.</summary>
    public TrainingDivergedException(int step, double loss)
        : base(string.Create(CultureInfo.InvariantCulture, $"Training diverged at step {step}: loss is {loss}."))
    {
        Step = step;
        Loss = loss;
    }

    /// <summary>Creates the exception with a message of its own.</summary>
    public TrainingDivergedException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TrainingDivergedException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with the default message.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>The 1-based step whose loss was not finite (0 when unknown).</summary>
    public int Step { get; }

    /// <summary>That loss: NaN or ±infinity.</summary>
    public double Loss { get; } = double.NaN;
}
