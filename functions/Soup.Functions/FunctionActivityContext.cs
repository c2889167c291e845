using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Soup.Functions;

/// <summary>The activity context the shared activities expect, made from a Functions invocation.</summary>
internal sealed class FunctionActivityContext(string name, FunctionContext context) : TaskActivityContext
{
    /// <inheritdoc />
    public override TaskName Name { get; } = name;

    /// <summary>
    /// The orchestration instance that called the activity: the Durable extension puts it in an activity trigger's
    /// binding data as <c>instanceId</c> (what a <c>string instanceId</c> parameter binds to). The invocation id is a
    /// different thing (one per execution of the function), named as such where the binding data lacks it.
    /// </summary>
    public override string InstanceId { get; } = InstanceIdOf(context);

    internal static string InstanceIdOf(FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.BindingContext.BindingData.TryGetValue("instanceId", out var id) && id?.ToString() is { Length: > 0 } instanceId
            ? instanceId
            : $"(unknown instance; invocation {context.InvocationId})";
    }
}
