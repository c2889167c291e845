using System.Collections;
using System.Text.Json.Serialization.Metadata;

namespace Soup.Core.Specs;

/// <summary>
/// Checks every list of a spec against <see cref="SpecLimits.MaxItems"/>, walking the spec by its JSON contract (so a
/// list added to the spec types is covered, or this throws until it is given a maximum). Runs before any other check:
/// a spec with an oversized list gets one problem per such list and nothing else, in time linear in its size.
/// </summary>
internal static class SpecListLimits
{
    public static void Check(List<SpecProblem> p, PipelineSpec spec) =>
        Walk(p, "$", spec, SpecJsonContext.Default.PipelineSpec);

    private static void Walk(List<SpecProblem> p, string path, object value, JsonTypeInfo info)
    {
        foreach (var property in info.Properties)
        {
            if (property.Get?.Invoke(value) is not { } child)
                continue;
            var childInfo = info.Options.GetTypeInfo(property.PropertyType);
            var childPath = $"{path}.{property.Name}";
            if (childInfo.Kind == JsonTypeInfoKind.Enumerable && child is ICollection list)
            {
                var max = SpecLimits.MaxItems(property.DeclaringType.Name, property.Name)
                    ?? throw new InvalidOperationException($"The spec list {property.DeclaringType.Name}.{property.Name} has no maximum in {nameof(SpecLimits)}.{nameof(SpecLimits.MaxItems)}.");
                if (list.Count > max)
                {
                    p.Add(new(childPath, $"at most {max} items, got {list.Count}"));
                    continue;
                }

                var elementInfo = info.Options.GetTypeInfo(childInfo.ElementType!);
                if (elementInfo.Kind != JsonTypeInfoKind.Object)
                    continue;
                var i = 0;
                foreach (var item in list)
                {
                    if (item is not null)
                        Walk(p, $"{childPath}[{i}]", item, elementInfo);
                    i++;
                }
            }
            else if (childInfo.Kind == JsonTypeInfoKind.Object)
            {
                Walk(p, childPath, child, childInfo);
            }
        }
    }
}
