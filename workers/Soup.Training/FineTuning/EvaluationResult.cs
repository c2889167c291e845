namespace Soup.Training.FineTuning;

/// <summary>How one checkpoint does on a data set.</summary>
/// <param name="Accuracy">Share of examples whose highest logit is the label's.</param>
/// <param name="Loss">Mean cross-entropy.</param>
/// <param name="Count">Examples evaluated.</param>
public sealed record EvaluationResult(double Accuracy, double Loss, int Count);
