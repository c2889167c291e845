using Soup.Merging.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.Checkpoints;

/// <summary>Converts between a torch module's state dict and <see cref="TensorData"/> (raw little-endian bytes).</summary>
public static class TorchCheckpoint
{
    /// <summary>Copies every state-dict entry (parameters and buffers) to the CPU, in state-dict order, keeping its dtype.</summary>
    public static IReadOnlyList<TensorData> ToTensorData(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return [.. module.state_dict().Select(e => ToTensorData(e.Key, e.Value))];
    }

    /// <summary>A copy of <paramref name="tensor"/> on the CPU, keeping its dtype, named <paramref name="name"/>.</summary>
    public static TensorData ToTensorData(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().cpu().contiguous();
        return new TensorData(name, TorchDtypes.ToSafetensors(cpu.dtype, name), cpu.shape, cpu.bytes.ToArray());
    }

    /// <summary>
    /// Copies <paramref name="tensors"/> into the module's state dict (on whatever device the module is). Strict: every
    /// name must match, with the same shape and dtype, and nothing is changed unless everything matches.
    /// </summary>
    /// <param name="module">The module to load into.</param>
    /// <param name="tensors">The tensors, by state-dict name.</param>
    /// <param name="source">Names the checkpoint in errors, e.g. its blob path.</param>
    /// <exception cref="InvalidDataException">A name is missing, unexpected or repeated, or a shape, dtype or byte count differs.</exception>
    public static void Load(nn.Module module, IReadOnlyList<TensorData> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(source);
        var state = module.state_dict();
        var given = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            if (!given.TryAdd(tensor.Name, tensor))
                throw new InvalidDataException($"{source}: tensor '{tensor.Name}' appears twice.");
        }
        var missing = state.Keys.Where(name => !given.ContainsKey(name)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{source}: missing tensor(s) {string.Join(", ", missing.Select(n => $"'{n}'"))}.");
        var unexpected = given.Keys.Where(name => !state.ContainsKey(name)).ToList();
        if (unexpected.Count > 0)
            throw new InvalidDataException($"{source}: unexpected tensor(s) {string.Join(", ", unexpected.Select(n => $"'{n}'"))}.");
        foreach (var (name, target) in state)
            Check(given[name], target, source);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, target) in state)
        {
            var data = given[name];
            var staged = empty(data.Shape, target.dtype);
            data.Data.Span.CopyTo(staged.bytes);
            target.copy_(staged);
        }
    }

    private static void Check(TensorData data, Tensor target, string source)
    {
        var name = data.Name;
        if (!data.Shape.AsSpan().SequenceEqual(target.shape))
            throw new InvalidDataException(
                $"{source}: tensor '{name}' has shape [{string.Join(", ", data.Shape)}], the model expects [{string.Join(", ", target.shape)}].");
        var dtype = TorchDtypes.ToTorch(data.Dtype, name, source);
        if (dtype != target.dtype)
            throw new InvalidDataException($"{source}: tensor '{name}' has dtype {data.Dtype}, the model expects {target.dtype}.");
        var expectedBytes = target.numel() * target.ElementSize;
        if (data.Data.Length != expectedBytes)
            throw new InvalidDataException($"{source}: tensor '{name}' holds {data.Data.Length} bytes, its shape and dtype need {expectedBytes}.");
    }
}
