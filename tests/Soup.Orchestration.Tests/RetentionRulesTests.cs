using Soup.Core.Jobs;
using Soup.Core.Storage;
using Soup.Orchestration.Retention;

namespace Soup.Orchestration.Tests;

/// <summary>The pure retention rules: what expires when, what is always kept, and which policies are refused.</summary>
public sealed class RetentionRulesTests
{
    private const string Id = "p-20260101-abc";
    private static readonly DateTimeOffset SoupAt = new(2026, 1, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset EndedAt = new(2026, 1, 11, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetentionPolicy Policy = new(InstanceDays: 30, MemberDays: 14);

    private static string Blob(string slot, string file) => CheckpointLayout.Blob(Id, slot, file);

    /// <summary>A completed one-round pipeline's folder: every kind of blob it can hold.</summary>
    private static List<RetentionBlob> Folder() =>
    [
        new(Blob("init", CheckpointLayout.CheckpointFile), SoupAt.AddDays(-1)),
        new(Blob("init", CheckpointLayout.ProgressFile), SoupAt.AddDays(-1)),
        new(Blob("init/aux-a", CheckpointLayout.CheckpointFile), SoupAt.AddDays(-1)),
        new(Blob(PairDatasets.Slot, CheckpointLayout.SamplingStateFile), SoupAt.AddDays(-1)), // a pairs job that never finished
        new(Blob(PairDatasets.Slot, CheckpointLayout.DrawFile), SoupAt.AddDays(-1)),
        new(Blob(PairDatasets.Slot + "/train", PairDatasets.File), SoupAt.AddDays(-1)),
        new(Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile), SoupAt.AddHours(-1)),
        new(Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ResumeFile), SoupAt.AddHours(-2)),
        new(Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ProgressFile), SoupAt.AddHours(-1)),
        new(Blob(CheckpointLayout.MemberSlot(1, 1), CheckpointLayout.FailureFile), SoupAt.AddHours(-1)),
        new(Blob(CheckpointLayout.MemberSlot(1, 1), CancellationMarker.FileName), SoupAt.AddHours(-1)),
        new(Blob(CheckpointLayout.MemberSlot(1, 2), CheckpointLayout.JobFile), SoupAt.AddHours(-3)),
        new(Blob(CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile), SoupAt),
        new(Blob(CheckpointLayout.SoupSlot(1, "greedy-01"), CheckpointLayout.CheckpointFile), SoupAt.AddMinutes(5)),
        new(Blob(CheckpointLayout.SoupSlot(1, "lerp-002"), CheckpointLayout.CheckpointFile), SoupAt.AddMinutes(5)),
        new(Blob(CheckpointLayout.EvaluationSlot(1), CheckpointLayout.EvaluationFile), SoupAt.AddMinutes(10)),
        new(Blob(CheckpointLayout.EvaluationSlot(1), CheckpointLayout.ProgressFile), SoupAt.AddMinutes(9)),
        new(Blob(CheckpointLayout.EvaluationSlot(1), CheckpointLayout.JobFile), SoupAt.AddMinutes(1)),
        new($"{Id}/{CancellationMarker.FileName}", EndedAt),
        new($"{Id}/idempotency.json", SoupAt.AddDays(-2)),
    ];

    private static List<string> ExpiredNames(DateTimeOffset now, IReadOnlySet<string>? keep = null, IEnumerable<RetentionBlob>? blobs = null) =>
        [.. RetentionRules.Expired(Id, EndedAt, blobs ?? Folder(), keep ?? new HashSet<string>(), Policy, now).Select(e => e.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void BeforeMemberRetention_NothingExpires()
    {
        Assert.Empty(ExpiredNames(SoupAt + Policy.MemberRetention - TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void MemberRetentionAfterTheSoup_DeletesMemberCheckpointsResumeProgressAndJobFiles_Only()
    {
        var expired = ExpiredNames(SoupAt + Policy.MemberRetention);

        Assert.Equal(
            new[]
            {
                Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile),
                Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ProgressFile),
                Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ResumeFile),
                Blob(CheckpointLayout.MemberSlot(1, 2), CheckpointLayout.JobFile),
            }.Order(StringComparer.Ordinal),
            expired);
    }

    [Fact]
    public void AfterThePipelineEndedPlusMemberRetention_TransientFilesOfOtherSlotsGoToo_SoupsResultsInitAndRecordsStay()
    {
        var expired = ExpiredNames(EndedAt + Policy.MemberRetention);

        Assert.Contains(Blob("init", CheckpointLayout.ProgressFile), expired);
        Assert.Contains(Blob(PairDatasets.Slot, CheckpointLayout.SamplingStateFile), expired);
        Assert.Contains(Blob(PairDatasets.Slot, CheckpointLayout.DrawFile), expired);
        Assert.Contains(Blob(CheckpointLayout.EvaluationSlot(1), CheckpointLayout.ProgressFile), expired);
        Assert.Contains(Blob(CheckpointLayout.EvaluationSlot(1), CheckpointLayout.JobFile), expired);
        var kept = Folder().Select(b => b.Name).Except(expired).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            new[]
            {
                Blob("init", CheckpointLayout.CheckpointFile),
                Blob("init/aux-a", CheckpointLayout.CheckpointFile),
                Blob(PairDatasets.Slot + "/train", PairDatasets.File),
                Blob(CheckpointLayout.MemberSlot(1, 1), CheckpointLayout.FailureFile),
                Blob(CheckpointLayout.MemberSlot(1, 1), CancellationMarker.FileName),
                Blob(CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile),
                Blob(CheckpointLayout.SoupSlot(1, "greedy-01"), CheckpointLayout.CheckpointFile),
                Blob(CheckpointLayout.SoupSlot(1, "lerp-002"), CheckpointLayout.CheckpointFile),
                Blob(CheckpointLayout.EvaluationSlot(1), CheckpointLayout.EvaluationFile),
                $"{Id}/{CancellationMarker.FileName}",
                $"{Id}/idempotency.json",
            }.Order(StringComparer.Ordinal),
            kept);
    }

    [Fact]
    public void TransientFilesOutsideMemberSlots_WaitForThePipelineEnd_NotTheSoup()
    {
        // Between soup + 14 days and end + 14 days only the members' files have expired.
        var expired = ExpiredNames(SoupAt + Policy.MemberRetention + TimeSpan.FromHours(1));

        Assert.DoesNotContain(Blob("init", CheckpointLayout.ProgressFile), expired);
        Assert.DoesNotContain(Blob(CheckpointLayout.EvaluationSlot(1), CheckpointLayout.ProgressFile), expired);
    }

    [Fact]
    public void KeptBlobs_StayEvenInAMemberSlot()
    {
        // soup.select: best delivers a member, which is also the next round's init.
        var delivered = Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile);

        var expired = ExpiredNames(EndedAt.AddYears(1), new HashSet<string> { delivered });

        Assert.DoesNotContain(delivered, expired);
        Assert.Contains(Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.ResumeFile), expired);
    }

    [Fact]
    public void RoundWithoutSoup_ItsMembersExpireAfterThePipelineEnded()
    {
        // A failed pipeline's last round: members landed, no soup.
        List<RetentionBlob> blobs =
        [
            new(Blob(CheckpointLayout.MemberSlot(2, 0), CheckpointLayout.CheckpointFile), SoupAt),
            new(Blob(CheckpointLayout.MemberSlot(2, 1), CheckpointLayout.ResumeFile), SoupAt),
        ];

        Assert.Empty(ExpiredNames(EndedAt + Policy.MemberRetention - TimeSpan.FromMinutes(1), blobs: blobs));
        var expired = RetentionRules.Expired(Id, EndedAt, blobs, new HashSet<string>(), Policy, EndedAt + Policy.MemberRetention);
        Assert.Equal(2, expired.Count);
        Assert.All(expired, e => Assert.Contains("has no soup", e.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void EachRound_UsesItsOwnSoupTime()
    {
        List<RetentionBlob> blobs =
        [
            new(Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile), SoupAt.AddDays(-20)),
            new(Blob(CheckpointLayout.SoupSlot(1), CheckpointLayout.CheckpointFile), SoupAt.AddDays(-20)),
            new(Blob(CheckpointLayout.MemberSlot(2, 0), CheckpointLayout.CheckpointFile), SoupAt.AddHours(-1)),
            new(Blob(CheckpointLayout.SoupSlot(2), CheckpointLayout.CheckpointFile), SoupAt),
        ];

        var expired = ExpiredNames(SoupAt.AddDays(1), blobs: blobs);

        Assert.Equal([Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile)], expired);
    }

    [Fact]
    public void BlobsOfOtherPipelinesAndUnknownFiles_AreNeverExpired()
    {
        List<RetentionBlob> blobs =
        [
            new($"{Id}-other/round-01/member-000/model.safetensors", SoupAt.AddYears(-1)),
            new(Blob(CheckpointLayout.MemberSlot(1, 0), "notes.txt"), SoupAt.AddYears(-1)),
            new(Blob("round-01/member-x", CheckpointLayout.CheckpointFile), SoupAt.AddYears(-1)),
            new(Blob("bases", CheckpointLayout.CheckpointFile), SoupAt.AddYears(-1)),
        ];

        Assert.Empty(ExpiredNames(EndedAt.AddYears(5), blobs: blobs));
    }

    [Fact]
    public void ZeroDays_ExpiresAtTheSoupItself()
    {
        var policy = new RetentionPolicy(0, 0);

        var expired = RetentionRules.Expired(Id, EndedAt, Folder(), new HashSet<string>(), policy, EndedAt);

        Assert.Contains(expired, e => e.Name == Blob(CheckpointLayout.MemberSlot(1, 0), CheckpointLayout.CheckpointFile));
        Assert.True(RetentionRules.InstanceExpired(EndedAt, policy, EndedAt));
    }

    [Fact]
    public void InstanceExpired_AfterInstanceDaysFromItsEnd()
    {
        Assert.False(RetentionRules.InstanceExpired(EndedAt, Policy, EndedAt + Policy.InstanceRetention - TimeSpan.FromSeconds(1)));
        Assert.True(RetentionRules.InstanceExpired(EndedAt, Policy, EndedAt + Policy.InstanceRetention));
    }

    [Theory]
    [InlineData("round-01/member-000", 1)]
    [InlineData("round-12/member-255", 12)]
    [InlineData("round-01/soup", null)]
    [InlineData("round-01/eval", null)]
    [InlineData("init", null)]
    [InlineData("round-00/member-000", null)]
    [InlineData("round-01/member-", null)]
    [InlineData("x/round-01/member-000", null)]
    [InlineData("round-03/morl-002", 3)]
    [InlineData("round-03/morl-", null)]
    public void MemberRound_ReadsOnlyMemberAndMorlSlots(string slot, int? round)
    {
        Assert.Equal(round, RetentionRules.MemberRound(slot));
    }

    [Theory]
    [InlineData(30, 14, null)]
    [InlineData(0, 0, null)]
    [InlineData(14, 14, null)]
    [InlineData(-1, 0, "instance retention must be 0..36500 days, not -1")]
    [InlineData(30, -2, "member retention must be 0..36500 days, not -2")]
    [InlineData(30, 40000, "member retention must be 0..36500 days, not 40000")]
    [InlineData(10, 20, "member retention (20 days) must not exceed instance retention (10 days)")]
    public void Problem_NamesWhatIsWrong(int instanceDays, int memberDays, string? problem)
    {
        var actual = new RetentionPolicy(instanceDays, memberDays).Problem;

        if (problem is null)
            Assert.Null(actual);
        else
            Assert.StartsWith(problem, actual, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_Are30DaysForInstancesAnd14ForMembers()
    {
        var options = new RetentionOptions();

        Assert.Equal(RetentionPolicy.Default, RetentionPolicy.From(options));
        Assert.Equal(new RetentionPolicy(30, 14), RetentionPolicy.Default);
        Assert.Throws<ArgumentException>(() => RetentionPolicy.From(new RetentionOptions { RetentionMemberDays = 31 }));
    }
}
