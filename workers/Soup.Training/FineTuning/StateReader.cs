using Soup.Merging.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>Reads the tensors of a <see cref="TrainingState"/> by name, checking each against its target.</summary>
internal sealed class StateReader
{
    private readonly Dictionary<string, TensorData> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly string _source;

    public StateReader(TrainingState state, string source)
    {
        this._source = source;
        foreach (var tensor in state.Tensors)
        {
            if (!_byName.TryAdd(tensor.Name, tensor))
                throw new InvalidDataException($"{source}: tensor '{tensor.Name}' appears twice.");
        }
    }

    /// <summary>Whether the state holds <paramref name="name"/>.</summary>
    public bool Has(string name) => _byName.ContainsKey(name);

    /// <summary>The tensor <paramref name="name"/> as a new CPU tensor.</summary>
    public Tensor Read(string name)
    {
        if (!_byName.TryGetValue(name, out var data))
            throw new InvalidDataException($"{_source}: missing tensor '{name}'.");
        _used.Add(name);
        return StateTensors.ToTensor(data, _source);
    }

    /// <summary>Copies tensor <paramref name="name"/> into <paramref name="target"/>, which it must match in shape and dtype.</summary>
    public void CopyInto(string name, Tensor target)
    {
        using var value = Read(name);
        if (!value.shape.AsSpan().SequenceEqual(target.shape) || value.dtype != target.dtype)
            throw new InvalidDataException(
                $"{_source}: tensor '{name}' is {value.dtype} [{string.Join(", ", value.shape)}], the run expects {target.dtype} [{string.Join(", ", target.shape)}].");
        using var noGrad = no_grad();
        target.copy_(value);
    }

    /// <summary>Throws when the state holds tensors nothing read (it comes from another kind of run).</summary>
    public void ThrowIfUnread()
    {
        var unread = _byName.Keys.Where(name => !_used.Contains(name)).ToList();
        if (unread.Count > 0)
            throw new InvalidDataException($"{_source}: unexpected tensor(s) {string.Join(", ", unread.Take(10).Select(n => $"'{n}'"))}.");
    }
}
