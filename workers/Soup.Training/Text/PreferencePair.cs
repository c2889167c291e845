namespace Soup.Training.Text;

/// <summary>A human (or gold) preference: of two completions of a prompt, <paramref name="Chosen"/> is preferred.</summary>
/// <param name="Prompt">The prompt both completions continue (may be empty).</param>
/// <param name="Chosen">The preferred completion (not empty).</param>
/// <param name="Rejected">The other completion (not empty).</param>
public sealed record PreferencePair(string Prompt, string Chosen, string Rejected);
