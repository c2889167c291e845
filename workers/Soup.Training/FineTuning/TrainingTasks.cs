using Soup.Core.Jobs;
using Soup.Training.Data;
using Soup.Training.Evaluation;
using Soup.Training.Text;

namespace Soup.Training.FineTuning;

/// <summary>
/// The task a job's data makes: images are classified (<see cref="ImageClassification"/>), a text corpus is modelled
/// (<see cref="LanguageModelling"/>, blocks of the model's context), preference pairs train a reward model
/// (<see cref="RewardModelling"/>). The one place a layout is turned into what a worker trains and evaluates.
/// </summary>
public static class TrainingTasks
{
    /// <summary>The training objective of a job's data, read from <paramref name="folder"/>; it owns what it loaded.</summary>
    /// <exception cref="ArgumentException">The model does not fit the layout, or the data reference is invalid.</exception>
    /// <exception cref="InvalidDataException">The data is unreadable or selects nothing.</exception>
    public static TrainingObjective Objective(DataRef data, string folder, string model, TrainSettings settings)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(settings);
        switch (data.Layout)
        {
            case DataLayouts.Text:
                return new LanguageModelling(TokenBlocks.Pack(TextDatasets.Documents(data, folder), Tokenizer, LanguageModelling.Config(model).Context));
            case DataLayouts.Preferences:
                return new RewardModelling(Pairs(data, folder), LanguageModelling.Config(model).Context, Tokenizer.EndOfText);
            default:
                return new ImageClassification(DatasetLoader.Load(data, folder), settings.ClassWeights, ownsData: true);
        }
    }

    /// <summary>The examples a split of an evaluation job scores, read from <paramref name="folder"/>.</summary>
    /// <exception cref="ArgumentException">The model does not fit, or the reference is invalid.</exception>
    /// <exception cref="InvalidDataException">The data is unreadable, selects nothing, or (text) does not fill one block of the model's context.</exception>
    public static IEvaluationData EvaluationData(DataRef data, string folder, string model)
    {
        ArgumentNullException.ThrowIfNull(data);
        switch (data.Layout)
        {
            case DataLayouts.Preferences:
                return new PreferenceSplit(Pairs(data, folder), LanguageModelling.Config(model).Context, Tokenizer.EndOfText);
            case DataLayouts.Text:
                var config = LanguageModelling.Config(model);
                return new TextSplit(TokenBlocks.Pack(TextDatasets.Documents(data, folder), Tokenizer, config.Context), config.VocabularySize);
            default:
                return DatasetLoader.Load(data, folder);
        }
    }

    /// <summary>The tokenizer of every GPT-2 size.</summary>
    private static TextTokenizer Tokenizer => TextTokenizer.Get(TextTokenizer.Gpt2Name);

    private static List<TokenPair> Pairs(DataRef data, string folder) => [.. TextDatasets.Pairs(data, folder).Select(p => TokenPairs.Tokenize(p, Tokenizer))];
}
