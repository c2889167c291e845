using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Soup.Functions;

/// <summary>The activity context the shared activities expect, made from a Functions invocation.</summary>
internal sealed class FunctionActivityContext(string name, FunctionContext context) : TaskActivityContext
{
    /// <inheritdoc />
    public override TaskName Name { get; } = name;

    /// <inheritdoc />
    public override string InstanceId { get; } = context.InvocationId;
}
