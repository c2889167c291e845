using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Soup.Merging.Engine;

namespace Soup.Merging;

/// <summary>
/// A parameter as mergekit writes one (v0.1.4's <c>evaluate_setting</c>): a number; a gradient, values spread evenly over
/// the layers and interpolated linearly between them; or conditionals, the first whose <c>filter</c> is a substring of
/// the tensor's name (or that has none, or <c>*</c>) giving the value.
/// </summary>
public sealed record ParameterSetting
{
    /// <summary>A number.</summary>
    public double? Constant { get; init; }

    /// <summary>A gradient over the layers (at least one value).</summary>
    public IReadOnlyList<double>? Gradient { get; init; }

    /// <summary>Conditionals: (filter, value), first match wins; a null filter matches every tensor.</summary>
    public IReadOnlyList<(string? Filter, ParameterSetting Value)>? Conditionals { get; init; }

    /// <summary>Whether the value can differ between tensors.</summary>
    public bool VariesByTensor => Constant is null;

    /// <summary>
    /// The value for <paramref name="tensor"/> at layer position <paramref name="t"/> (0 first layer, 1 last; 0 for tensors
    /// outside the layers), or null when no conditional matches.
    /// </summary>
    public double? Evaluate(string tensor, double t)
    {
        if (Constant is { } constant)
            return constant;
        if (Gradient is { Count: > 0 } values)
        {
            var s = t * (values.Count - 1);
            var i0 = (int)s;
            var i1 = Math.Min(values.Count - 1, i0 + 1);
            var f = s - i0;
            return ((1 - f) * values[i0]) + (f * values[i1]);
        }

        foreach (var (filter, value) in Conditionals ?? [])
        {
            if (filter is null || filter == "*" || tensor.Contains(filter, StringComparison.Ordinal))
                return value.Evaluate(tensor, t);
        }

        return null;
    }

    /// <summary>Every number it can give (for checks that hold whatever the tensor).</summary>
    public IEnumerable<double> Values() =>
        Constant is { } c ? [c] : Gradient ?? (Conditionals ?? []).SelectMany(v => v.Value.Values());
}

/// <summary>
/// Where a tensor sits among the layers, as mergekit's planner places it for an architecture it does not know: a tensor
/// whose name has <c>.N.</c> is in layer N (the first such number); the layers are 0 .. the largest N;
/// t = N/(layers − 1) (1 with one layer); tensors outside the layers (embeddings, final norm, head) are at t = 0.
/// </summary>
public static partial class LayerPositions
{
    /// <summary>The layer index in a tensor's name, or null.</summary>
    public static int? Index(string tensor) =>
        LayerPattern().Match(tensor) is { Success: true } m && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

    /// <summary>The number of layers the tensor names show (largest index + 1; 0 when none has one).</summary>
    public static int Count(IEnumerable<string> tensors) => tensors.Select(Index).Max() is { } max ? max + 1 : 0;

    /// <summary>The tensor's position t in [0, 1] among <paramref name="layers"/> layers.</summary>
    public static double Of(string tensor, int layers) =>
        Index(tensor) is { } i ? (layers <= 1 ? 1 : (double)i / (layers - 1)) : 0;

    [GeneratedRegex(@"\.(\d+)\.")]
    private static partial Regex LayerPattern();
}

/// <summary>The parameters that vary by tensor: per member (weight, density) and global (weight, density, t, lambda); null where a constant is used.</summary>
public sealed record TensorSettings(
    IReadOnlyList<ParameterSetting?> Weights,
    IReadOnlyList<ParameterSetting?> Densities,
    ParameterSetting? Weight = null,
    ParameterSetting? Density = null,
    ParameterSetting? T = null,
    ParameterSetting? Lambda = null);

/// <summary>Implemented by methods that need the checkpoint's tensor names before merging (to place tensors among the layers).</summary>
public interface ITensorAwareMethod
{
    /// <summary>Called once with every tensor name, before any chunk.</summary>
    void Prepare(IReadOnlyList<string> tensorNames);
}

/// <summary>
/// A merge whose parameters vary by tensor (mergekit's gradients and filters): for each tensor, the settings are
/// evaluated at its name and layer position over <paramref name="template"/>'s constants, and the method they give
/// merges it (built once per tensor).
/// </summary>
public sealed class PerTensorMethod(MergeParameters template, TensorSettings settings) : IMergeMethodF64, ITensorAwareMethod
{
    private readonly ConcurrentDictionary<string, IMergeMethod> _methods = new(StringComparer.Ordinal);
    private readonly IMergeMethod _prototype = MergeMethodFactory.Create(Prototype(template, settings));
    private int _layers;

    /// <inheritdoc />
    public string Name => template.Method;

    /// <inheritdoc />
    public bool IsElementwise => _prototype.IsElementwise;

    /// <inheritdoc />
    public void Validate(int memberCount, bool hasBase)
    {
        if (settings.Weights.Count != memberCount || settings.Densities.Count != memberCount)
            throw new ArgumentException($"{Name}: per-tensor settings for {settings.Weights.Count} members, merging {memberCount}");
        _prototype.Validate(memberCount, hasBase);
    }

    /// <inheritdoc />
    public void Prepare(IReadOnlyList<string> tensorNames) => _layers = LayerPositions.Count(tensorNames);

    /// <inheritdoc />
    public void Merge(MergeChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        For(chunk.Tensor).Merge(chunk);
    }

    /// <inheritdoc />
    public void MergeF64(MergeChunkF64 chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ((IMergeMethodF64)For(chunk.Tensor)).MergeF64(chunk);
    }

    /// <summary>The parameters of <paramref name="tensor"/>.</summary>
    /// <exception cref="ArgumentException">A member has no weight for it (no conditional matched), or a value is out of range.</exception>
    public MergeParameters ParametersOf(string tensor)
    {
        var t = LayerPositions.Of(tensor, _layers);
        return Resolve(template, settings, s => s?.Evaluate(tensor, t), $"tensor '{tensor}'");
    }

    private IMergeMethod For(string tensor) => _methods.GetOrAdd(tensor, name => MergeMethodFactory.Create(ParametersOf(name)));

    /// <summary>Every setting at its smallest value: a stand-in that answers for the whole merge (member count, elementwise or not).</summary>
    private static MergeParameters Prototype(MergeParameters template, TensorSettings settings) =>
        Resolve(template, settings, s => s?.Values().DefaultIfEmpty(double.NaN).Min(), "the settings");

    /// <summary>
    /// <paramref name="template"/> with each setting's value as <paramref name="value"/> gives it: a member's own weight or
    /// density, else the global one, else the template's.
    /// </summary>
    private static MergeParameters Resolve(MergeParameters template, TensorSettings settings, Func<ParameterSetting?, double?> value, string what)
    {
        var members = settings.Weights.Count;
        var parameters = template with { T = value(settings.T) ?? template.T, Lambda = value(settings.Lambda) ?? template.Lambda };
        if (template.Weights is not null || settings.Weights.Any(w => w is not null) || settings.Weight is not null)
        {
            parameters.Weights = [.. Enumerable.Range(0, members).Select(k => value(settings.Weights[k]) ?? value(settings.Weight)
                ?? template.Weights?[k] ?? throw new ArgumentException($"{what}: no weight for member {k} (no filter matched it)"))];
        }

        if (template.Densities is not null || settings.Densities.Any(d => d is not null) || settings.Density is not null)
        {
            parameters.Densities = [.. Enumerable.Range(0, members).Select(k => value(settings.Densities[k]) ?? value(settings.Density) ?? template.Densities?[k] ?? template.Density)];
        }

        return parameters;
    }
}
