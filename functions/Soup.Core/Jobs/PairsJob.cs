using Soup.Core.Storage;

namespace Soup.Core.Jobs;

/// <summary>
/// The preference datasets a pipeline makes itself (<c>preferences</c> in the spec), by the names its spec and jobs use:
/// <c>pairs:train</c> (flipped labels), <c>pairs:clean</c> (the same pairs, gold labels), <c>pairs:test</c> (other
/// prompts, gold labels) and <c>pairs:shifted</c> (prompts from elsewhere, gold labels). A worker reads one from the
/// job's own pipeline folder in the checkpoints container, <c>{pipelineId}/init/pairs/{part}/pairs.jsonl</c>, where
/// the pairs job wrote it; no other pipeline's pairs can be named.
/// </summary>
public static class PairDatasets
{
    /// <summary>The prefix of the names.</summary>
    public const string Scheme = "pairs:";

    /// <summary>The training pairs, a fraction of their labels flipped.</summary>
    public const string Train = "pairs:train";

    /// <summary>The training pairs with their gold labels.</summary>
    public const string Clean = "pairs:clean";

    /// <summary>Pairs of other prompts, gold labels.</summary>
    public const string Test = "pairs:test";

    /// <summary>Pairs of shifted prompts (another corpus or other topics), gold labels.</summary>
    public const string Shifted = "pairs:shifted";

    /// <summary>Every name.</summary>
    public static IReadOnlyList<string> All { get; } = [Train, Clean, Test, Shifted];

    /// <summary>The slot of the pairs job (in the init stage's folder).</summary>
    public const string Slot = CheckpointLayout.InitSlot + "/pairs";

    /// <summary>The file each dataset's folder holds.</summary>
    public const string File = "pairs.jsonl";

    /// <summary>
    /// The blob of the pairs job's draw (<see cref="PairsDraw"/>) while it writes the datasets from it, in the job's slot
    /// beside the report: <c>{pipelineId}/init/pairs/draw.json</c>.
    /// </summary>
    public static string DrawBlob(string pipelineId) => CheckpointLayout.Blob(pipelineId, Slot, CheckpointLayout.DrawFile);

    /// <summary>Whether <paramref name="dataset"/> is a generated-pairs name (known or not).</summary>
    public static bool IsGenerated(string dataset) => dataset?.StartsWith(Scheme, StringComparison.Ordinal) == true;

    /// <summary>The blob prefix (ending in '/') of dataset <paramref name="dataset"/> of pipeline <paramref name="pipelineId"/>.</summary>
    /// <exception cref="ArgumentException">Not one of <see cref="All"/>.</exception>
    public static string Prefix(string pipelineId, string dataset)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipelineId);
        return All.Contains(dataset)
            ? $"{pipelineId}/{Slot}/{dataset[Scheme.Length..]}/"
            : throw new ArgumentException($"'{dataset}' is not a generated pairs dataset; known: {string.Join(", ", All)}", nameof(dataset));
    }

    /// <summary>The blob that holds dataset <paramref name="dataset"/> of pipeline <paramref name="pipelineId"/>.</summary>
    public static string Blob(string pipelineId, string dataset) => Prefix(pipelineId, dataset) + File;
}

/// <summary>
/// Make a pipeline's preference pairs (<see cref="PairDatasets"/>): prompts from <see cref="Corpus"/>, two completions
/// each (sampled from <see cref="Policy"/>, or real continuations when it is null), labelled by the gold reward
/// <see cref="Reward"/>, <see cref="Noise"/> of the training labels flipped. Writes the datasets, then its report
/// (<see cref="PairsReport"/>, <c>results.json</c>), which completes it.
/// </summary>
public sealed record PairsJob : Job
{
    /// <summary>The documents prompts (and continuations) are cut from: the held-out part of the pipeline's corpus.</summary>
    public required DataRef Corpus { get; init; }

    /// <summary>The language model that samples the completions; null: real continuations from the corpus.</summary>
    public string? Policy { get; init; }

    /// <summary>The gold reward that labels each pair.</summary>
    public required string Reward { get; init; }

    /// <summary>The share of training labels flipped, in [0, 0.5].</summary>
    public double Noise { get; init; }

    /// <summary>Training pairs.</summary>
    public int TrainPairs { get; init; }

    /// <summary>Test pairs (other prompts of the same corpus).</summary>
    public int TestPairs { get; init; }

    /// <summary>Tokens of each prompt.</summary>
    public int PromptTokens { get; init; } = 8;

    /// <summary>Tokens of each completion at most.</summary>
    public int MaxNewTokens { get; init; } = 24;

    /// <summary>Sampling temperature.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Top-k (0: every token).</summary>
    public int TopK { get; init; }

    /// <summary>Top-p.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Seeds the sampling, the pairing and the flips.</summary>
    public int Seed { get; init; }

    /// <summary>Where the shifted test pairs' documents come from (null: none).</summary>
    public DataRef? Shifted { get; init; }

    /// <summary>How many shifted test pairs.</summary>
    public int ShiftedPairs { get; init; }
}

/// <summary>What a pairs job made: the count of each dataset and what was skipped on the way.</summary>
/// <param name="Reward">The gold reward that labelled the pairs.</param>
/// <param name="Completions">Where the completions came from (<c>policy</c> or <c>corpus</c>).</param>
/// <param name="Policy">The policy checkpoint that sampled them (null: corpus completions).</param>
/// <param name="Train">Training pairs.</param>
/// <param name="Flipped">Training labels flipped.</param>
/// <param name="Test">Test pairs.</param>
/// <param name="Shifted">Shifted test pairs.</param>
/// <param name="Ties">Prompts skipped because both completions scored the same.</param>
/// <param name="Empty">Prompts skipped because a completion was empty.</param>
/// <param name="PromptsUsed">Prompts sampled or paired in all.</param>
/// <param name="TruncatedPrompts">Prompts cut from the left to fit the context.</param>
/// <param name="Documents">Documents of the corpus's part the prompts came from.</param>
public sealed record PairsReport(
    string Reward, string Completions, string? Policy, int Train, int Flipped, int Test, int Shifted, int Ties, int Empty, int PromptsUsed, int TruncatedPrompts, int Documents);

/// <summary>
/// One draw of a pairs job, stored once (If-None-Match) before any dataset is written: the bytes of each dataset by its
/// name (<see cref="PairDatasets.All"/>) and the report. Every copy of the job writes the datasets and the report from
/// the draw it finds, so a job preempted between two datasets never leaves datasets of two different draws (sampling
/// on a GPU is not repeatable: <c>pairs:clean</c> would no longer be <c>pairs:train</c> with its gold labels), and a
/// redelivery that finds the draw does not sample again. Deleted once the report has landed.
/// </summary>
/// <param name="JobId">The job that drew it.</param>
/// <param name="Report">What the draw made.</param>
/// <param name="Datasets">Each dataset's JSON Lines text, by name.</param>
public sealed record PairsDraw(string JobId, PairsReport Report, IReadOnlyDictionary<string, string> Datasets);
