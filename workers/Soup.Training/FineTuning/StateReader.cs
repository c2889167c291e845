using Soup.Core.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.FineTuning;

/// <summary>Reads the tensors of a <see cref="TrainingState"/> by name, checking each against its target.</summary>
internal sealed class StateReader
{
    private readonly Dictionary<string, TensorData> byName = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);
    private readonly string source;

    public StateReader(TrainingState state, string source)
    {
        this.source = source;
        foreach (var tensor in state.Tensors)
        {
            if (!byName.TryAdd(tensor.Name, tensor))
                throw new InvalidDataException($"{source}: tensor '{tensor.Name}' appears twice.");
        }
    }

    /// <summary>Whether the state holds <paramref name="name"/>.</summary>
    public bool Has(string name) => byName.ContainsKey(name);

    /// <summary>The tensor <paramref name="name"/> as a new CPU tensor.</summary>
    public Tensor Read(string name)
    {
        if (!byName.TryGetValue(name, out var data))
            throw new InvalidDataException($"{source}: missing tensor '{name}'.");
        used.Add(name);
        return StateTensors.ToTensor(data, source);
    }

    /// <summary>Copies tensor <paramref name="name"/> into <paramref name="target"/>, which it must match in shape and dtype.</summary>
    public void CopyInto(string name, Tensor target)
    {
        using var value = Read(name);
        if (!value.shape.AsSpan().SequenceEqual(target.shape) || value.dtype != target.dtype)
            throw new InvalidDataException(
                $"{source}: tensor '{name}' is {value.dtype} [{string.Join(", ", value.shape)}], the run expects {target.dtype} [{string.Join(", ", target.shape)}].");
        using var noGrad = no_grad();
        target.copy_(value);
    }

    /// <summary>Throws when the state holds tensors nothing read (it comes from another kind of run).</summary>
    public void ThrowIfUnread()
    {
        var unread = byName.Keys.Where(name => !used.Contains(name)).ToList();
        if (unread.Count > 0)
            throw new InvalidDataException($"{source}: unexpected tensor(s) {string.Join(", ", unread.Take(10).Select(n => $"'{n}'"))}.");
    }
}
