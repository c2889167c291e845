using System.Reflection;
using DurableTask.Core;
using DurableTask.Core.History;
using Soup.Local;

namespace Soup.EndToEnd.Tests.Local;

/// <summary>
/// The shim between the preview sidecar and the Azure Storage provider, alone: what the provider receives when a
/// pipeline starts a round. Without it the round never starts (tags in a type the provider cannot load back) and the
/// pipeline cannot be replayed (an event subclass written without its type); the end-to-end tests show the symptoms,
/// these show the cause.
/// </summary>
public sealed class SubOrchestrationTagsFixTests
{
    [Fact]
    public async Task TagsOfAStartedSubOrchestration_ReachTheProviderAsAPlainDictionary()
    {
        var (fix, inner) = Wrap();
        var started = new ExecutionStartedEvent(-1, "{}")
        {
            Name = "Round",
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "p:round-01", ExecutionId = "e" },
            Tags = new SortedDictionary<string, string> { ["a"] = "1", ["b"] = "2" }, // stands for Protobuf's MapField
        };

        await fix.CompleteTaskOrchestrationWorkItemAsync(
            null!, new OrchestrationRuntimeState(), [], [new TaskMessage { Event = started }], [], null!, null!);

        var passed = Assert.IsType<ExecutionStartedEvent>(Assert.Single(inner.OrchestratorMessages!).Event);
        Assert.Equal(typeof(Dictionary<string, string>), passed.Tags.GetType());
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, passed.Tags);
    }

    [Fact]
    public async Task ASubOrchestrationCreatedEventOfTheSidecarsOwnType_IsRecordedAsThePlainEvent()
    {
        var (fix, inner) = Wrap();
        var state = new OrchestrationRuntimeState();
        state.AddEvent(new ExecutionStartedEvent(-1, "{}") { Name = "Pipeline", OrchestrationInstance = new OrchestrationInstance { InstanceId = "p", ExecutionId = "e" } });
        var sidecars = new SidecarCreatedEvent(7) { Name = "Round", Version = "", InstanceId = "p:round-01", Input = "{\"round\":1}" };
        state.AddEvent(sidecars);

        await fix.CompleteTaskOrchestrationWorkItemAsync(null!, state, [], [], [], null!, null!);

        Assert.Same(state, inner.State);
        var recorded = Assert.Single(state.NewEvents.OfType<SubOrchestrationInstanceCreatedEvent>());
        Assert.Equal(typeof(SubOrchestrationInstanceCreatedEvent), recorded.GetType());
        Assert.Equal((7, "Round", "p:round-01", "{\"round\":1}", sidecars.Timestamp), (recorded.EventId, recorded.Name, recorded.InstanceId, recorded.Input, recorded.Timestamp));
        Assert.Same(recorded, Assert.Single(state.Events.OfType<SubOrchestrationInstanceCreatedEvent>()));
    }

    private static (SubOrchestrationTagsFix Fix, Recorder Inner) Wrap()
    {
        var inner = DispatchProxy.Create<IOrchestrationService, Recorder>();
        return (new SubOrchestrationTagsFix(inner), (Recorder)(object)inner);
    }

    /// <summary>What the sidecar records: a subclass of the provider's event type.</summary>
    private sealed class SidecarCreatedEvent(int eventId) : SubOrchestrationInstanceCreatedEvent(eventId);

    /// <summary>The provider, recording what it is asked to complete.</summary>
    public class Recorder : DispatchProxy
    {
        public OrchestrationRuntimeState? State { get; private set; }

        public IList<TaskMessage>? OrchestratorMessages { get; private set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(IOrchestrationService.CompleteTaskOrchestrationWorkItemAsync))
                throw new NotSupportedException(targetMethod?.Name);
            State = (OrchestrationRuntimeState)args![1]!;
            OrchestratorMessages = (IList<TaskMessage>)args[3]!;
            return Task.CompletedTask;
        }
    }
}
