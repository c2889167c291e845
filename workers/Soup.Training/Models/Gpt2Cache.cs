using static TorchSharp.torch;

namespace Soup.Training.Models;

/// <summary>One layer's cached keys and values, [B, heads, positions, head width].</summary>
public sealed class Gpt2LayerCache : IDisposable
{
    private Tensor? _key;
    private Tensor? _value;

    /// <summary>Positions cached.</summary>
    public long Length => _key?.shape[2] ?? 0;

    /// <summary>Appends the new positions' keys and values and returns every position's (owned by the cache).</summary>
    internal (Tensor Key, Tensor Value) Append(Tensor key, Tensor value)
    {
        var (oldKey, oldValue) = (_key, _value);
        _key = (oldKey is null ? key.detach().clone() : cat([oldKey, key.detach()], 2)).DetachFromDisposeScope();
        _value = (oldValue is null ? value.detach().clone() : cat([oldValue, value.detach()], 2)).DetachFromDisposeScope();
        oldKey?.Dispose();
        oldValue?.Dispose();
        return (_key.alias(), _value.alias());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _key?.Dispose();
        _value?.Dispose();
        _key = _value = null;
    }
}

/// <summary>A key/value cache for every layer of a GPT-2, for sampling one token at a time.</summary>
public sealed class Gpt2Cache : IDisposable
{
    private readonly Gpt2LayerCache[] _layers;

    /// <summary>Creates an empty cache for <paramref name="layers"/> layers.</summary>
    public Gpt2Cache(int layers) => _layers = [.. Enumerable.Range(0, layers).Select(_ => new Gpt2LayerCache())];

    /// <summary>Positions cached.</summary>
    public long Length => _layers[0].Length;

    /// <summary>The cache of layer <paramref name="layer"/>.</summary>
    public Gpt2LayerCache this[int layer] => _layers[layer];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in _layers)
            layer.Dispose();
    }
}
