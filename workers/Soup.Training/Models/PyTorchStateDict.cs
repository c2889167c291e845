using static TorchSharp.torch;

namespace Soup.Training.Models;

/// <summary>
/// Lists a module's state dict in PyTorch's order: each module's own parameters, then its own persistent buffers, then
/// its children's entries, depth first. (TorchSharp's default lists every parameter of the tree before any buffer.)
/// </summary>
internal static class PyTorchStateDict
{
    /// <summary>Adds the entries of <paramref name="module"/> to <paramref name="destination"/>, names prefixed by <paramref name="prefix"/>.</summary>
    public static Dictionary<string, Tensor> Collect(nn.Module module, Dictionary<string, Tensor>? destination, string? prefix)
    {
        destination ??= [];
        var dotted = string.IsNullOrEmpty(prefix) ? "" : prefix + ".";
        foreach (var (name, parameter) in module.named_parameters(recurse: false))
            destination.TryAdd(dotted + name, parameter);
        foreach (var (name, buffer) in module.named_buffers(recurse: false, include_nonpersistent: false))
            destination.TryAdd(dotted + name, buffer);
        foreach (var (name, child) in module.named_children())
            Collect(child, destination, dotted + name);
        return destination;
    }
}
