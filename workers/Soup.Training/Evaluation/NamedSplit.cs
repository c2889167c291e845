using Soup.Training.Data;
namespace Soup.Training.Evaluation;

/// <summary>Examples to evaluate on (labelled images, preference pairs), under the name the report uses (e.g. <c>test</c>).</summary>
/// <param name="Name">Names the split in the report and in errors.</param>
/// <param name="Data">The examples, read with their evaluation view.</param>
public sealed record NamedSplit(string Name, IEvaluationData Data);
