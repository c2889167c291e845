namespace Soup.Training.Text;

/// <summary>
/// A gold reward: a pure, deterministic function of a completion's text that stands in for human opinions in the WARM
/// benchmark (reward models are trained on its preferences, and policies are scored by it).
/// </summary>
/// <param name="Name">The name it is chosen by (<c>positivity</c>, <c>0.7·positivity+0.3·conciseness</c>).</param>
/// <param name="Description">Its definition, in one line.</param>
/// <param name="Minimum">The least score any text gets.</param>
/// <param name="Maximum">The greatest score any text gets.</param>
/// <param name="Score">The score of a text, in [<paramref name="Minimum"/>, <paramref name="Maximum"/>].</param>
public sealed record GoldReward(string Name, string Description, double Minimum, double Maximum, Func<string, double> Score);
