using System.Globalization;
using Soup.Merging.Checkpoints;
using Soup.Merging.Engine;

namespace Soup.Merging;

/// <summary>
/// The greedy soup (Wortsman et al., 2022; DiWA's restricted soup): members ranked by validation accuracy, the best
/// alone first, each next one added only if the soup with it scores at least as well. Candidates are built in memory
/// with the merge engine and scored by the caller, so the whole soup is one evaluation job rather than a merge and an
/// evaluation per member.
/// </summary>
/// <remarks>
/// With <c>linear</c> (the paper's uniform soup) a candidate is the running mean: the soup so far weighted n/(n+1) and
/// the next member 1/(n+1), so each member is read once and memory holds the soup, the candidate and one member's read
/// windows. The running mean equals the direct average of the kept members up to float rounding. A task-vector method
/// has no running form: each candidate is merged from its members' checkpoints (and the base), read again each time.
/// </remarks>
public static class GreedySoup
{
    /// <summary>
    /// <paramref name="members"/> best first by <paramref name="accuracy"/>, the earlier one first on a tie (members are
    /// given in member order); a member without a score (NaN) comes last. The greedy soup's order, and the ERM choice.
    /// </summary>
    public static List<T> Ranked<T>(IReadOnlyList<T> members, Func<T, double> accuracy)
    {
        ArgumentNullException.ThrowIfNull(members);
        return [.. members.Select((m, i) => (m, i)).OrderByDescending(x => accuracy(x.m)).ThenBy(x => x.i).Select(x => x.m)];
    }

    /// <summary>Builds the greedy soup of <paramref name="members"/>.</summary>
    /// <param name="members">Each member's checkpoint and its accuracy on the deciding split, in member order; at least one.</param>
    /// <param name="parameters">The merge (<see cref="GreedySoupPlan.Merge"/>); its weights are ignored.</param>
    /// <param name="open">Opens a checkpoint by name (a member's or the base).</param>
    /// <param name="base">The base checkpoint, for methods that need one.</param>
    /// <param name="score">A candidate's accuracy on the deciding split.</param>
    /// <param name="metadata">The soup's metadata; the members kept are added.</param>
    /// <param name="cancellationToken">Stops the build.</param>
    /// <exception cref="ArgumentException">No members, or a merge method a variable number of members cannot use.</exception>
    /// <exception cref="InvalidDataException">The members do not merge (differing tensors, a non-finite value).</exception>
    public static async Task<GreedySoupBuild> BuildAsync(
        IReadOnlyList<(string Checkpoint, double Accuracy)> members,
        MergeParameters parameters,
        Func<string, CancellationToken, Task<ICheckpointSource>> open,
        string? @base,
        Func<IReadOnlyList<TensorData>, CancellationToken, Task<double>> score,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(score);
        ArgumentOutOfRangeException.ThrowIfZero(members.Count, nameof(members));
        parameters = parameters with { Weights = null };
        var running = parameters.Method == MergeMethods.Linear;
        var ranked = Ranked(members, m => m.Accuracy);
        List<string> kept = [ranked[0].Checkpoint];
        var best = ranked[0].Accuracy;
        byte[]? soup = null;
        var trials = new List<GreedyTrial>(ranked.Count - 1);
        for (var k = 1; k < ranked.Count; k++)
        {
            var next = ranked[k].Checkpoint;
            List<string> ingredients = [.. kept, next];
            var candidate = running
                ? await RunningMeanAsync(soup, kept, next, open, Metadata(metadata, ingredients), cancellationToken)
                : await MergeAsync(ingredients, parameters, open, @base, Metadata(metadata, ingredients), cancellationToken);
            var accuracy = await score(Safetensors.Read(candidate, "greedy soup candidate").Tensors, cancellationToken);
            var keep = accuracy >= best; // NaN: never kept
            trials.Add(new GreedyTrial(next, accuracy, keep));
            if (keep)
            {
                (kept, best, soup) = (ingredients, accuracy, candidate);
            }
        }

        return new GreedySoupBuild(kept, trials, soup);
    }

    /// <summary>The soup so far (the first member's checkpoint while it is alone) weighted n/(n+1), the next 1/(n+1).</summary>
    private static async Task<byte[]> RunningMeanAsync(
        byte[]? soup, IReadOnlyList<string> kept, string next, Func<string, CancellationToken, Task<ICheckpointSource>> open,
        IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var n = kept.Count;
        var sources = new List<ICheckpointSource>(2);
        try
        {
            sources.Add(soup is null
                ? await open(kept[0], cancellationToken)
                : new InMemorySource("greedy soup so far", Safetensors.Read(soup, "greedy soup so far").Tensors));
            sources.Add(await open(next, cancellationToken));
            var method = MergeMethodFactory.Create(new MergeParameters { Method = MergeMethods.Linear, Weights = [n / (n + 1.0), 1 / (n + 1.0)], Normalize = false });
            return await RunAsync(sources, null, method, metadata, cancellationToken);
        }
        finally
        {
            foreach (var source in sources)
                await source.DisposeAsync();
        }
    }

    private static async Task<byte[]> MergeAsync(
        IReadOnlyList<string> ingredients, MergeParameters parameters, Func<string, CancellationToken, Task<ICheckpointSource>> open, string? @base,
        IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var method = MergeMethodFactory.Create(parameters);
        var needsBase = MergeMethodFactory.UsesBase(parameters.Method);
        if (needsBase && @base is null)
            throw new ArgumentException($"merge method '{parameters.Method}' needs the base checkpoint, and the greedy soup's plan names none");
        method.Validate(ingredients.Count, needsBase);
        var sources = new List<ICheckpointSource>(ingredients.Count);
        ICheckpointSource? baseSource = null;
        try
        {
            foreach (var ingredient in ingredients)
                sources.Add(await open(ingredient, cancellationToken));
            if (needsBase)
                baseSource = await open(@base!, cancellationToken);
            return await RunAsync(sources, baseSource, method, metadata, cancellationToken);
        }
        finally
        {
            foreach (var source in sources)
                await source.DisposeAsync();
            if (baseSource is not null)
                await baseSource.DisposeAsync();
        }
    }

    /// <summary>One merge into memory, with the merge activity's numerics (a NaN or infinity fails it).</summary>
    private static async Task<byte[]> RunAsync(
        IReadOnlyList<ICheckpointSource> sources, ICheckpointSource? @base, IMergeMethod method, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var target = new MemorySinkFactory();
        await MergeEngine.RunAsync(
            sources, @base, new CheckpointOutput(target), method, new MergeEngineOptions { Metadata = metadata, NonFinite = NonFinitePolicy.Fail }, cancellationToken);
        return target.Files[ShardIndex.DefaultFileName];
    }

    private static Dictionary<string, string> Metadata(IReadOnlyDictionary<string, string>? metadata, IReadOnlyList<string> ingredients)
    {
        var result = metadata is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        result["members"] = ingredients.Count.ToString(CultureInfo.InvariantCulture);
        result["greedy_members"] = string.Join(",", ingredients);
        return result;
    }
}

/// <summary>One candidate of a greedy soup: the soup so far with <paramref name="Added"/>, its accuracy on the deciding split, and whether it was kept.</summary>
public sealed record GreedyTrial(string Added, double Accuracy, bool Kept);

/// <summary>A greedy soup as built: the members kept (best first), each trial, and the soup's safetensors file.</summary>
/// <param name="Kept">The kept members' checkpoints, best first.</param>
/// <param name="Trials">Each member tried after the first.</param>
/// <param name="Soup">The soup's file (with its metadata); null when only the best member was kept (it is its own soup).</param>
public sealed record GreedySoupBuild(IReadOnlyList<string> Kept, IReadOnlyList<GreedyTrial> Trials, byte[]? Soup);
