using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Soup.Training.Text;

/// <summary>
/// The gold rewards by name (weighted sums of rewards: <see cref="TextReward.Sum"/>). Each is a pure function of a text's words (see
/// <see cref="Words"/>), the same on every machine and culture.
/// </summary>
public static class GoldRewards
{
    /// <summary>The name of <see cref="Positivity"/>.</summary>
    public const string PositivityName = Core.Jobs.GoldRewardNames.Positivity;

    /// <summary>The name of <see cref="Conciseness"/>.</summary>
    public const string ConcisenessName = Core.Jobs.GoldRewardNames.Conciseness;

    /// <summary>The name of <see cref="LexicalDiversity"/>.</summary>
    public const string LexicalDiversityName = Core.Jobs.GoldRewardNames.LexicalDiversity;

    /// <summary>The number of words <see cref="Conciseness"/> aims at.</summary>
    public const int DefaultTargetWords = 20;

    /// <summary>Common English words that say something good (lowercase, disjoint from <see cref="NegativeWords"/>).</summary>
    public static IReadOnlySet<string> PositiveWords { get; } = FrozenSet.ToFrozenSet(
    [
        "admire", "adore", "amazing", "awesome", "beautiful", "beloved", "best", "better", "brave", "bright",
        "brilliant", "calm", "celebrate", "charming", "cheerful", "clever", "comfortable", "compassion", "confident", "courage",
        "creative", "delight", "delightful", "elegant", "encourage", "enjoy", "enthusiastic", "excellent", "excited", "exciting",
        "fabulous", "fantastic", "favorite", "fortunate", "friendly", "fun", "funny", "generous", "gentle", "glad",
        "glorious", "good", "gorgeous", "graceful", "grateful", "great", "happy", "healthy", "helpful", "hero",
        "honest", "hope", "hopeful", "impressive", "incredible", "inspire", "joy", "joyful", "kind", "kindness",
        "laugh", "love", "loved", "lovely", "lucky", "magnificent", "marvelous", "nice", "optimistic", "peace",
        "peaceful", "perfect", "pleasant", "pleased", "pleasure", "praise", "proud", "recommend", "refreshing", "reliable",
        "remarkable", "smile", "splendid", "success", "successful", "superb", "sweet", "terrific", "thank", "thankful",
        "thrilled", "triumph", "trust", "useful", "valuable", "victory", "warm", "welcome", "wise", "wonderful",
    ], StringComparer.Ordinal);

    /// <summary>Common English words that say something bad (lowercase, disjoint from <see cref="PositiveWords"/>).</summary>
    public static IReadOnlySet<string> NegativeWords { get; } = FrozenSet.ToFrozenSet(
    [
        "abuse", "afraid", "agony", "angry", "anger", "annoying", "anxious", "ashamed", "awful", "bad",
        "bitter", "boring", "broken", "cruel", "cry", "damage", "dangerous", "dead", "death", "defeat",
        "depressed", "despair", "destroy", "disappointed", "disaster", "disgusting", "dirty", "doubt", "dreadful", "enemy",
        "evil", "fail", "failed", "failure", "fear", "foolish", "frustrated", "greedy", "grief", "guilty",
        "harm", "harmful", "hate", "hopeless", "horrible", "hostile", "hurt", "jealous", "kill", "lonely",
        "lose", "loss", "lost", "miserable", "mistake", "nasty", "nervous", "pain", "painful", "panic",
        "pathetic", "poor", "problem", "regret", "reject", "ridiculous", "rude", "ruin", "sad", "scared",
        "selfish", "shame", "sick", "sorrow", "sorry", "stress", "stupid", "suffer", "suffering", "terrible",
        "tired", "tragic", "trouble", "ugly", "unfair", "unhappy", "unpleasant", "upset", "useless", "victim",
        "violent", "war", "waste", "weak", "wicked", "worried", "worry", "worse", "worst", "wrong",
    ], StringComparer.Ordinal);

    /// <summary>
    /// How positive a text's words are: (positive − negative) / max(1, words), counting words found in
    /// <see cref="PositiveWords"/> and <see cref="NegativeWords"/> (no negation handling: "not good" counts as good).
    /// </summary>
    public static GoldReward Positivity { get; } = new(
        PositivityName,
        "(positive words - negative words) / max(1, words), from fixed lists of 100 common English words each; in [-1, 1].",
        -1,
        1,
        text =>
        {
            var words = Words(text);
            var balance = words.Count(PositiveWords.Contains) - words.Count(NegativeWords.Contains);
            return (double)balance / Math.Max(1, words.Count);
        });

    /// <summary>How close a text's word count is to <see cref="DefaultTargetWords"/> (see <see cref="ConcisenessFor"/>).</summary>
    public static GoldReward Conciseness { get; } = ConcisenessFor(DefaultTargetWords);

    /// <summary>How varied a text's words are: distinct words / words, 0 for a text without words.</summary>
    public static GoldReward LexicalDiversity { get; } = new(
        LexicalDiversityName,
        "distinct words / words (0 for a text without words); in [0, 1].",
        0,
        1,
        text =>
        {
            var words = Words(text);
            return words.Count == 0 ? 0 : (double)words.Distinct(StringComparer.Ordinal).Count() / words.Count;
        });

    /// <summary>Every gold reward <see cref="Get"/> knows, in a fixed order.</summary>
    public static IReadOnlyList<GoldReward> All { get; } = [Positivity, Conciseness, LexicalDiversity];

    /// <summary>The gold reward called <paramref name="name"/> (ordinal, case-sensitive).</summary>
    /// <exception cref="ArgumentException">No gold reward has that name; the message lists the known ones.</exception>
    public static GoldReward Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return All.FirstOrDefault(reward => string.Equals(reward.Name, name, StringComparison.Ordinal))
            ?? (Core.Jobs.GoldRewardNames.ConcisenessTarget(name) is { } target ? ConcisenessFor(target) : null)
            ?? throw new ArgumentException(
                $"Unknown gold reward '{name}'. Known gold rewards: {Core.Jobs.GoldRewardNames.Describe()}.", nameof(name));
    }

    /// <summary>
    /// Closeness of the word count to <paramref name="targetWords"/>: 1 − min(1, |words − target| / target), so 1 at the
    /// target and 0 at no words or at twice the target and beyond. Named <c>conciseness</c> at the default target,
    /// <c>conciseness-N</c> otherwise.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="targetWords"/> is below 1.</exception>
    public static GoldReward ConcisenessFor(int targetWords)
    {
        if (targetWords < 1)
            throw new ArgumentOutOfRangeException(nameof(targetWords), targetWords, "The target word count of conciseness must be at least 1.");
        var name = targetWords == DefaultTargetWords
            ? ConcisenessName
            : string.Create(CultureInfo.InvariantCulture, $"{ConcisenessName}-{targetWords}");
        return new GoldReward(
            name,
            string.Create(CultureInfo.InvariantCulture, $"1 - min(1, |words - {targetWords}| / {targetWords}): 1 at {targetWords} words, 0 at none or at {2 * targetWords} and more; in [0, 1]."),
            0,
            1,
            text => 1 - Math.Min(1, Math.Abs(Words(text).Count - targetWords) / (double)targetWords));
    }

    /// <summary>
    /// The words of <paramref name="text"/>: maximal runs of letters and apostrophes (' or ’, read as '), without
    /// apostrophes at either end, lowercased in the invariant culture; a run without a letter is not a word.
    /// </summary>
    public static IReadOnlyList<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        var run = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetter(rune))
            {
                run.Append(Rune.ToLowerInvariant(rune).ToString());
            }
            else if (rune.Value is '\'' or '\u2019')
            {
                run.Append('\'');
            }
            else
            {
                AddWord(words, run);
            }
        }

        AddWord(words, run);
        return words;
    }

    private static void AddWord(List<string> words, StringBuilder run)
    {
        var word = run.ToString().Trim('\'');
        if (word.Length > 0)
            words.Add(word);
        run.Clear();
    }
}
