using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Grpc;
using P = Microsoft.DurableTask.Protobuf;

namespace Soup.Orchestration.Tests.Replay;

/// <summary>What one replay produced: the actions the orchestrator asked for, and its failure if it failed.</summary>
/// <param name="Actions">The actions, as the worker returns them to the Durable engine.</param>
public sealed record ReplayResult(IReadOnlyList<P.OrchestratorAction> Actions)
{
    /// <summary>The actions in words (<see cref="HistoryReplayer.Describe(P.OrchestratorAction)"/>).</summary>
    public IReadOnlyList<string> Described => [.. Actions.Select(HistoryReplayer.Describe)];

    /// <summary>The failure the replay ended the instance with, if it did.</summary>
    public P.TaskFailureDetails? Failure => Actions
        .Select(a => a.CompleteOrchestration)
        .FirstOrDefault(c => c is { OrchestrationStatus: P.OrchestrationStatus.Failed })?.FailureDetails;
}

/// <summary>
/// Replays a recorded history against orchestrator code through the SDK's own replay path: the history goes, as a
/// Protobuf <c>OrchestratorRequest</c> (past events and new events), to
/// <see cref="GrpcOrchestrationRunner.LoadAndRun(string, ITaskOrchestrator, IServiceProvider?)"/>, which is what the
/// Azure Functions .NET isolated worker calls for every orchestrator trigger. It rebuilds the instance's state from
/// the past events (DurableTask.Core's <c>TaskOrchestrationExecutor</c>: the code runs again and each durable call it
/// makes is matched with the event that recorded it), plays the new events and returns the new actions.
/// </summary>
public static class HistoryReplayer
{
    /// <summary>
    /// Splits a history into its episodes: each starts with an <c>OrchestratorStarted</c> event; the events it received
    /// (start, completions, timers, external events) are followed by the events recording what the code did with them.
    /// </summary>
    public static IReadOnlyList<(int Start, int End)> Episodes(IReadOnlyList<P.HistoryEvent> history)
    {
        var starts = history.Select((e, i) => (e, i)).Where(x => x.e.EventTypeCase == P.HistoryEvent.EventTypeOneofCase.OrchestratorStarted).Select(x => x.i).ToList();
        return [.. starts.Select((s, k) => (s, k + 1 < starts.Count ? starts[k + 1] : history.Count))];
    }

    /// <summary>
    /// Replays episode <paramref name="episode"/> of the fixture: the episodes before it as past events, its received
    /// events as new events. Returns what the code does now, and the actions the recorded code took then, described
    /// the same way.
    /// </summary>
    public static (ReplayResult Now, IReadOnlyList<string> Recorded) ReplayEpisode(HistoryFixture fixture, int episode, ITaskOrchestrator orchestrator)
    {
        var (start, end) = Episodes(fixture.History)[episode];
        var events = fixture.History.Skip(start).Take(end - start).ToList();
        var received = events.Where(e => !IsOutcome(e)).ToList();
        var recorded = events.Where(e => IsOutcome(e)).Select(e => Describe(e)).OfType<string>().ToList();
        return (Run(fixture, [.. fixture.History.Take(start)], received, orchestrator), recorded);
    }

    /// <summary>
    /// Resumes the instance as a worker would on its next episode: the whole recorded history as past events, then an
    /// <c>OrchestratorStarted</c> a minute after the last event and <paramref name="arriving"/> as new events.
    /// </summary>
    public static ReplayResult Resume(HistoryFixture fixture, ITaskOrchestrator orchestrator, params P.HistoryEvent[] arriving)
    {
        var at = fixture.History[^1].Timestamp.ToDateTime().AddMinutes(1);
        P.HistoryEvent[] fresh = [new() { EventId = -1, Timestamp = Timestamp.FromDateTime(at), OrchestratorStarted = new() }, .. arriving];
        foreach (var e in arriving)
            e.Timestamp ??= Timestamp.FromDateTime(at);
        return Run(fixture, fixture.History, fresh, orchestrator);
    }

    /// <summary>One <c>OrchestratorRequest</c> through <see cref="GrpcOrchestrationRunner.LoadAndRun(string, ITaskOrchestrator, IServiceProvider?)"/>.</summary>
    public static ReplayResult Run(HistoryFixture fixture, IEnumerable<P.HistoryEvent> past, IEnumerable<P.HistoryEvent> fresh, ITaskOrchestrator orchestrator)
    {
        var request = new P.OrchestratorRequest { InstanceId = fixture.InstanceId, ExecutionId = fixture.ExecutionId };
        request.PastEvents.AddRange(past.Select(e => e.Clone()));
        request.NewEvents.AddRange(fresh.Select(e => e.Clone()));
        var encoded = GrpcOrchestrationRunner.LoadAndRun(Convert.ToBase64String(request.ToByteArray()), orchestrator);
        var response = P.OrchestratorResponse.Parser.ParseFrom(Convert.FromBase64String(encoded));
        return new ReplayResult([.. response.Actions]);
    }

    /// <summary>An action in words: its kind, sequence number and what identifies it (not its input).</summary>
    public static string Describe(P.OrchestratorAction action) => action.OrchestratorActionTypeCase switch
    {
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.ScheduleTask => Words($"activity #{action.Id} {action.ScheduleTask.Name}"),
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.CreateTimer => Words($"timer #{action.Id} at {action.CreateTimer.FireAt.ToDateTime():O}"),
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.CreateSubOrchestration =>
            Words($"sub-orchestration #{action.Id} {action.CreateSubOrchestration.Name} {action.CreateSubOrchestration.InstanceId}"),
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.SendEvent => Words($"event #{action.Id} {action.SendEvent.Name} to {action.SendEvent.Instance?.InstanceId}"),
        P.OrchestratorAction.OrchestratorActionTypeOneofCase.CompleteOrchestration =>
            Words($"complete {action.CompleteOrchestration.OrchestrationStatus} {action.CompleteOrchestration.FailureDetails?.ErrorType}"),
        _ => Words($"{action.OrchestratorActionTypeCase} #{action.Id}"),
    };

    /// <summary>The action an outcome event recorded, described as <see cref="Describe(P.OrchestratorAction)"/> does; null for markers.</summary>
    public static string? Describe(P.HistoryEvent e) => (e.EventTypeCase switch
    {
        P.HistoryEvent.EventTypeOneofCase.TaskScheduled => new P.OrchestratorAction { ScheduleTask = new() { Name = e.TaskScheduled.Name } },
        P.HistoryEvent.EventTypeOneofCase.TimerCreated => new P.OrchestratorAction { CreateTimer = new() { FireAt = e.TimerCreated.FireAt } },
        P.HistoryEvent.EventTypeOneofCase.SubOrchestrationInstanceCreated => new P.OrchestratorAction
        {
            CreateSubOrchestration = new() { Name = e.SubOrchestrationInstanceCreated.Name, InstanceId = e.SubOrchestrationInstanceCreated.InstanceId },
        },
        P.HistoryEvent.EventTypeOneofCase.EventSent => new P.OrchestratorAction
        {
            SendEvent = new() { Name = e.EventSent.Name, Instance = new() { InstanceId = e.EventSent.InstanceId } },
        },
        P.HistoryEvent.EventTypeOneofCase.ExecutionCompleted => new P.OrchestratorAction
        {
            CompleteOrchestration = new() { OrchestrationStatus = e.ExecutionCompleted.OrchestrationStatus, FailureDetails = e.ExecutionCompleted.FailureDetails },
        },
        _ => null,
    }) is { } action ? Describe(WithId(action, e.EventId)) : null;

    /// <summary>Whether an event records what the code did (an outcome of an episode) rather than something it received.</summary>
    private static bool IsOutcome(P.HistoryEvent e) => e.EventTypeCase is P.HistoryEvent.EventTypeOneofCase.TaskScheduled
        or P.HistoryEvent.EventTypeOneofCase.TimerCreated
        or P.HistoryEvent.EventTypeOneofCase.SubOrchestrationInstanceCreated
        or P.HistoryEvent.EventTypeOneofCase.EventSent
        or P.HistoryEvent.EventTypeOneofCase.ExecutionCompleted
        or P.HistoryEvent.EventTypeOneofCase.ContinueAsNew
        or P.HistoryEvent.EventTypeOneofCase.OrchestratorCompleted;

    private static P.OrchestratorAction WithId(P.OrchestratorAction action, int id)
    {
        action.Id = id;
        return action;
    }

    private static string Words(FormattableString text) => text.ToString(CultureInfo.InvariantCulture).TrimEnd();
}
