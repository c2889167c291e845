using Soup.Core.Jobs;

namespace Soup.Orchestration.Tests;

/// <summary>
/// How an ended pipeline's status is put together: the view stored when it ended, under the engine's runtime status,
/// times, progress and failure. Every other field of the view is the stored one's, so a field the stored view gains is
/// kept without a change here (the pairs report was once dropped because it was copied field by field).
/// </summary>
public sealed class PipelineStatusReaderTests
{
    private static readonly string[] LiveFields =
        [nameof(PipelineStatusView.Id), nameof(PipelineStatusView.RuntimeStatus), nameof(PipelineStatusView.CreatedAt),
         nameof(PipelineStatusView.LastUpdatedAt), nameof(PipelineStatusView.Progress), nameof(PipelineStatusView.Failure)];

    [Fact]
    public void Ended_TakesTheLiveFieldsFromTheEngine_AndEveryOtherFieldFromTheStoredView()
    {
        var stored = new PipelineStatusView(
            "p1", "Completed", At(0), At(10), new PipelineProgress("merging", 2, 2, 4, 0, 0, 0.81, "stored"), Result("stored"), null)
        {
            Pairs = new PairsReport("conciseness-6", "corpus", null, 20, 5, 6, 4, 1, 0, 27, 0, 60),
            Jobs = [new JobProgress("p1/round-02/member-000", 5, 5, 0.1, 3, "w", At(9))],
        };
        var live = new PipelineStatusView(
            "p1", "Completed", At(1), At(12), new PipelineProgress("completed", 2, 2, 4, 0, 0, 0.82, "live"), Result("live"), null);

        var ended = PipelineStatusReader.Ended(stored, live);

        foreach (var property in typeof(PipelineStatusView).GetProperties().Where(p => p.GetIndexParameters().Length == 0))
        {
            var expected = property.GetValue(LiveFields.Contains(property.Name) ? live : stored);
            Assert.True(Equals(expected, property.GetValue(ended)), $"{property.Name}: expected {expected}, got {property.GetValue(ended)}");
        }

        Assert.NotNull(ended.Pairs);
        Assert.Equal("stored", ended.Result!.FinalCheckpoint);
    }

    [Fact]
    public void Ended_WhatTheEngineNoLongerHas_IsTheStoredViews()
    {
        var stored = new PipelineStatusView("p2", "Failed", At(0), At(10), new PipelineProgress("training", 1, 2, 1, 3, 0, null, "quorum"), null, "stored failure");
        var live = new PipelineStatusView("p2", "Failed", At(0), At(11), null, Result("live"), null);

        var ended = PipelineStatusReader.Ended(stored, live);

        Assert.Equal(("quorum", "stored failure", "live"), (ended.Progress!.Message, ended.Failure, ended.Result!.FinalCheckpoint));
        Assert.Equal(At(11), ended.LastUpdatedAt);
    }

    private static DateTimeOffset At(int seconds) => new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero).AddSeconds(seconds);

    private static PipelineResult Result(string final) => new("p", [], final);
}
