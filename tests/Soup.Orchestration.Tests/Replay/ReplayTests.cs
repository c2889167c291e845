using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;
using Soup.Core.Storage;
using P = Microsoft.DurableTask.Protobuf;

namespace Soup.Orchestration.Tests.Replay;

/// <summary>
/// Histories of a pipeline and of its round, recorded in flight on the local engine (Azure Storage provider), replayed
/// against the current orchestrators through the SDK's replay path (<see cref="HistoryReplayer"/>): a change that would
/// break in-flight instances after a deployment fails here first. See docs/ARCHITECTURE.md, "Changing orchestrations".
/// </summary>
public sealed class ReplayTests
{
    private const string Pipeline = "pipeline-round-running.json";
    private const string Round = "round-members-pending.json";

    public static TheoryData<string> Fixtures => [Pipeline, Round];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void EveryEpisode_ReplayedOnTheCurrentCode_TakesTheRecordedActions(string file)
    {
        var fixture = Load(file);
        var episodes = HistoryReplayer.Episodes(fixture.History);
        Assert.True(episodes.Count >= 3, "a fixture should hold several episodes");

        for (var k = 0; k < episodes.Count; k++)
        {
            var (now, recorded) = HistoryReplayer.ReplayEpisode(fixture, k, Current(fixture));
            Assert.Null(now.Failure);
            Assert.Equal(recorded, now.Described);
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void WholeHistory_ResumedWithNothingNew_FailsNothingAndAsksForNothing(string file)
    {
        var fixture = Load(file);

        var resumed = HistoryReplayer.Resume(fixture, Current(fixture));

        Assert.Empty(resumed.Actions); // still waiting: its round, or its members and its timer
    }

    [Fact]
    public void Round_TheOtherTwoMembersLand_MergesNext()
    {
        var fixture = Load(Round);

        var resumed = HistoryReplayer.Resume(fixture, new RoundOrchestrator(), Landed(fixture, 1), Landed(fixture, 2));

        Assert.Null(resumed.Failure);
        Assert.Equal(["activity #3 MergeCheckpoints"], resumed.Described);
    }

    [Fact]
    public void Round_OnlyOneMoreMemberLands_GoesOnWaiting()
    {
        var fixture = Load(Round);

        var resumed = HistoryReplayer.Resume(fixture, new RoundOrchestrator(), Landed(fixture, 2));

        Assert.Empty(resumed.Actions);
    }

    [Fact]
    public void Round_ItsSilenceTimerFires_LooksInTheContainerNext()
    {
        var fixture = Load(Round);
        var timer = fixture.History.Single(e => e.TimerCreated is not null);
        var fired = new P.HistoryEvent { EventId = -1, TimerFired = new P.TimerFiredEvent { TimerId = timer.EventId, FireAt = timer.TimerCreated.FireAt } };

        var resumed = HistoryReplayer.Resume(fixture, new RoundOrchestrator(), fired);

        Assert.Null(resumed.Failure);
        Assert.Equal(["activity #3 ReconcileLandings"], resumed.Described);
    }

    [Fact]
    public void Pipeline_RoundOneCompletes_StartsRoundTwoNext()
    {
        var fixture = Load(Pipeline);
        var created = fixture.History.Single(e => e.SubOrchestrationInstanceCreated is not null);
        var result = new RoundResult(1, "replay-fixture/init/model.safetensors", [], "replay-fixture/round-01/soup/model.safetensors", 0.5, 1.0, "test");
        var completed = new P.HistoryEvent
        {
            EventId = -1,
            SubOrchestrationInstanceCompleted = new P.SubOrchestrationInstanceCompletedEvent { TaskScheduledId = created.EventId, Result = JsonDataConverter.Default.Serialize(result) },
        };

        var resumed = HistoryReplayer.Resume(fixture, new PipelineOrchestrator(), completed);

        Assert.Null(resumed.Failure);
        Assert.Equal([$"sub-orchestration #4 Round {LandingEvents.RoundInstance(fixture.InstanceId, 2)}"], resumed.Described);
    }

    [Fact]
    public void Pipeline_RoundOneFails_StopsItsJobsNext()
    {
        var fixture = Load(Pipeline);
        var created = fixture.History.Single(e => e.SubOrchestrationInstanceCreated is not null);
        var failed = new P.HistoryEvent
        {
            EventId = -1,
            SubOrchestrationInstanceFailed = new P.SubOrchestrationInstanceFailedEvent
            {
                TaskScheduledId = created.EventId,
                FailureDetails = new P.TaskFailureDetails { ErrorType = typeof(PipelineFailedException).FullName, ErrorMessage = "round 1 training: 1 of 3 job(s) landed, 3 needed" },
            },
        };

        var resumed = HistoryReplayer.Resume(fixture, new PipelineOrchestrator(), failed);

        Assert.Equal(["activity #4 StopJobs"], resumed.Described);
    }

    [Fact]
    public void ChangedRound_ReplayedOnAnInFlightHistory_FailsTheInstanceAsNonDeterministic()
    {
        var fixture = Load(Round);

        var resumed = HistoryReplayer.Resume(fixture, new ChangedRoundOrchestrator());

        // The SDK does not throw: it returns the actions the changed code took, then one that completes the instance as
        // Failed with the mismatch (the engine applies it; the instance does not retry or resume).
        Assert.Equal(["activity #0 ReconcileLandings", "complete Failed DurableTask.Core.Exceptions.NonDeterministicOrchestrationException"], resumed.Described);
        var complete = resumed.Actions[^1].CompleteOrchestration;
        Assert.Equal(P.OrchestrationStatus.Failed, complete.OrchestrationStatus);
        Assert.Equal("DurableTask.Core.Exceptions.NonDeterministicOrchestrationException", complete.FailureDetails.ErrorType);
        Assert.Contains("'DispatchJobs'", complete.FailureDetails.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("'ReconcileLandings'", complete.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangedRound_FirstEpisode_IsNotDetectedByTheSdkButDiffersFromTheRecording()
    {
        // With no past events there is nothing to check against: the SDK runs the changed code as a new instance.
        // The episode comparison is what tells a change that only new instances would see.
        var fixture = Load(Round);

        var (now, recorded) = HistoryReplayer.ReplayEpisode(fixture, 0, new ChangedRoundOrchestrator());

        Assert.Null(now.Failure);
        Assert.Equal(["activity #0 ReconcileLandings"], now.Described);
        Assert.Equal(["activity #0 DispatchJobs"], recorded);
    }

    private static HistoryFixture Load(string file) => HistoryFixture.Load(Path.Combine(HistoryFixture.Folder, file));

    private static ITaskOrchestrator Current(HistoryFixture fixture) => fixture.Orchestrator switch
    {
        TaskNames.Pipeline => new PipelineOrchestrator(),
        TaskNames.Round => new RoundOrchestrator(),
        _ => throw new InvalidOperationException($"no orchestrator registered as '{fixture.Orchestrator}'"),
    };

    /// <summary>Member <paramref name="member"/> of round 1 landing, as the recorded landing of member 0 was raised.</summary>
    private static P.HistoryEvent Landed(HistoryFixture fixture, int member)
    {
        var recorded = fixture.History.Single(e => e.EventRaised is not null).EventRaised;
        var first = CheckpointLayout.MemberSlot(1, 0);
        var slot = CheckpointLayout.MemberSlot(1, member);
        return new P.HistoryEvent
        {
            EventId = -1,
            EventRaised = new P.EventRaisedEvent { Name = recorded.Name.Replace(first, slot, StringComparison.Ordinal), Input = recorded.Input.Replace(first, slot, StringComparison.Ordinal) },
        };
    }
}
