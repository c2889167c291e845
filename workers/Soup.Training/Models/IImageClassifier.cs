namespace Soup.Training.Models;

/// <summary>
/// A model split into a featurizer and a classifier head: the head's state-dict entries all start with
/// <see cref="HeadPrefix"/> (a linear probe trains those only).
/// </summary>
public interface IImageClassifier
{
    /// <summary>The state-dict prefix of the classifier head, e.g. <c>fc.</c>.</summary>
    string HeadPrefix { get; }
}
