using Soup.Merging.Checkpoints;

namespace Soup.Merging.Engine;

/// <summary>Checks that the members of a soup hold the same tensors, with the same dtypes and shapes.</summary>
internal static class MergeMembers
{
    /// <summary>Throws unless every member matches the first one (names, dtypes, shapes) and every dtype can be merged.</summary>
    /// <param name="members">Each member's tensors.</param>
    /// <param name="names">Each member's name for messages (file path or "member i").</param>
    /// <exception cref="InvalidDataException">A member differs from the first one.</exception>
    /// <exception cref="NotSupportedException">A tensor is float8, which the merge cannot average.</exception>
    public static void EnsureCompatible(IReadOnlyList<IReadOnlyList<TensorLayout>> members, IReadOnlyList<string> names)
    {
        var reference = ToDictionary(members[0], names[0]);
        foreach (var tensor in members[0])
        {
            if (tensor.Dtype.IsFloatingPoint() && !Merging.Engine.FloatConversion.IsMergeable(tensor.Dtype))
            {
                throw new NotSupportedException($"Tensor '{tensor.Name}' in '{names[0]}' has dtype {tensor.Dtype}; averaging float8 tensors is not supported.");
            }
        }

        for (var m = 1; m < members.Count; m++)
        {
            var other = ToDictionary(members[m], names[m]);
            foreach (var (name, expected) in reference)
            {
                if (!other.TryGetValue(name, out var actual))
                {
                    throw Mismatch(names[m], name, $"it is missing, but '{names[0]}' has it");
                }

                if (actual.Dtype != expected.Dtype)
                {
                    throw Mismatch(names[m], name, $"its dtype is {actual.Dtype}, but in '{names[0]}' it is {expected.Dtype}");
                }

                if (!actual.Shape.SequenceEqual(expected.Shape))
                {
                    throw Mismatch(names[m], name,
                        $"its shape is {TensorInfo.FormatShape(actual.Shape)}, but in '{names[0]}' it is {TensorInfo.FormatShape(expected.Shape)}");
                }
            }

            var extra = members[m].FirstOrDefault(t => !reference.ContainsKey(t.Name));
            if (extra.Name is not null)
            {
                throw Mismatch(names[m], extra.Name, $"'{names[0]}' has no such tensor");
            }
        }
    }

    private static Dictionary<string, TensorLayout> ToDictionary(IReadOnlyList<TensorLayout> tensors, string member)
    {
        var result = new Dictionary<string, TensorLayout>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            if (!result.TryAdd(tensor.Name, tensor))
            {
                throw Mismatch(member, tensor.Name, "the name appears more than once");
            }
        }

        return result;
    }

    private static InvalidDataException Mismatch(string member, string tensor, string what) =>
        new($"Cannot merge '{member}': tensor '{tensor}': {what}.");
}
