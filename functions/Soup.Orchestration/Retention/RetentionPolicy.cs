using System.Globalization;
using Soup.Core.Storage;

namespace Soup.Orchestration.Retention;

/// <summary>
/// Settings of retention, read from the root of the configuration with these names (app settings, local.settings.json,
/// environment variables). <see cref="RetentionPolicy.From"/> checks them.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Days a pipeline's Durable instances (the pipeline, its rounds) are kept after it ended.</summary>
    public int RetentionInstanceDays { get; set; } = RetentionPolicy.DefaultInstanceDays;

    /// <summary>
    /// Days a round's member checkpoints (and every slot's resumption checkpoint, progress report and job file) are kept
    /// after the round's soup landed (after the pipeline ended, for a round without a soup).
    /// </summary>
    public int RetentionMemberDays { get; set; } = RetentionPolicy.DefaultMemberDays;
}

/// <summary>
/// What retention keeps and for how long. Only pipelines whose instance has ended (Completed, Failed or Terminated) are
/// touched. Member checkpoints, resumption checkpoints, progress reports and job files go <see cref="MemberDays"/> after
/// their round's soup landed (for files outside a member slot, and rounds that have no soup: after the pipeline ended);
/// the pipeline's Durable instances go <see cref="InstanceDays"/> after it ended. Soups, the init stage's checkpoints,
/// the delivered checkpoint and every round's init, evaluation results, failure and cancellation records, idempotency
/// claims and reports are kept.
/// </summary>
/// <param name="InstanceDays">Days the Durable instances are kept after the pipeline ended (0..36500).</param>
/// <param name="MemberDays">Days member checkpoints are kept after their round's soup landed (0..InstanceDays).</param>
public sealed record RetentionPolicy(int InstanceDays, int MemberDays)
{
    /// <summary>Instances are kept 30 days after their pipeline ended.</summary>
    public const int DefaultInstanceDays = 30;

    /// <summary>Member checkpoints are kept 14 days after their round's soup landed.</summary>
    public const int DefaultMemberDays = 14;

    /// <summary>The longest retention a setting may ask for (100 years: "keep").</summary>
    public const int MaxDays = 36500;

    /// <summary>The default policy.</summary>
    public static RetentionPolicy Default { get; } = new(DefaultInstanceDays, DefaultMemberDays);

    /// <summary>The policy of <paramref name="options"/>; throws when it is not valid (<see cref="Problem"/>).</summary>
    public static RetentionPolicy From(RetentionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var policy = new RetentionPolicy(options.RetentionInstanceDays, options.RetentionMemberDays);
        return policy.Problem is { } problem ? throw new ArgumentException(problem) : policy;
    }

    /// <summary>
    /// Why this policy cannot be applied, or null. Members must not outlive the instances: once a pipeline's instance is
    /// purged, retention can no longer tell that the pipeline ended, and it never deletes a blob of a pipeline it cannot
    /// see ended; so its members would stay for good.
    /// </summary>
    public string? Problem =>
        InstanceDays is < 0 or > MaxDays ? string.Create(CultureInfo.InvariantCulture, $"instance retention must be 0..{MaxDays} days, not {InstanceDays}")
        : MemberDays is < 0 or > MaxDays ? string.Create(CultureInfo.InvariantCulture, $"member retention must be 0..{MaxDays} days, not {MemberDays}")
        : MemberDays > InstanceDays ? string.Create(CultureInfo.InvariantCulture,
            $"member retention ({MemberDays} days) must not exceed instance retention ({InstanceDays} days): once an instance is purged its pipeline's blobs are never deleted")
        : null;

    /// <summary>How long instances are kept.</summary>
    public TimeSpan InstanceRetention => TimeSpan.FromDays(InstanceDays);

    /// <summary>How long member checkpoints are kept.</summary>
    public TimeSpan MemberRetention => TimeSpan.FromDays(MemberDays);
}

/// <summary>A blob of a pipeline's folder, as listed.</summary>
public sealed record RetentionBlob(string Name, DateTimeOffset LastModified);

/// <summary>A blob retention deletes (or would delete, in a dry run), and why.</summary>
/// <param name="Name">The blob.</param>
/// <param name="ExpiredAt">When it expired.</param>
/// <param name="Reason">Why it goes, in words.</param>
public sealed record ExpiredBlob(string Name, DateTimeOffset ExpiredAt, string Reason);

/// <summary>The pure rules: which blobs of an ended pipeline have expired at a given time.</summary>
public static class RetentionRules
{
    /// <summary>Files retention may delete: what a member slot holds, and the transient files of any slot.</summary>
    private static readonly HashSet<string> MemberFiles =
        [CheckpointLayout.CheckpointFile, CheckpointLayout.ResumeFile, CheckpointLayout.ProgressFile, CheckpointLayout.JobFile];

    /// <summary>Files of any slot that only served a running job.</summary>
    private static readonly HashSet<string> TransientFiles =
        [CheckpointLayout.ResumeFile, CheckpointLayout.ProgressFile, CheckpointLayout.JobFile, CheckpointLayout.SamplingStateFile, CheckpointLayout.DrawFile];

    /// <summary>
    /// The blobs of <paramref name="pipelineId"/>'s folder that have expired at <paramref name="now"/> under
    /// <paramref name="policy"/>, for a pipeline that ended at <paramref name="endedAt"/>. The caller must have seen the
    /// pipeline's instance ended: these rules do not check it. <paramref name="keep"/> names blobs kept whatever they
    /// are (the delivered checkpoint, every round's init: a member when a round delivers its best member).
    /// </summary>
    public static IReadOnlyList<ExpiredBlob> Expired(
        string pipelineId, DateTimeOffset endedAt, IEnumerable<RetentionBlob> blobs, IReadOnlySet<string> keep, RetentionPolicy policy, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipelineId);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(keep);
        ArgumentNullException.ThrowIfNull(policy);
        var prefix = pipelineId + "/";
        var listed = blobs.Where(b => b.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var soups = listed
            .Select(b => (Blob: b, Round: SoupRound(b.Name[prefix.Length..])))
            .Where(x => x.Round is not null)
            .ToDictionary(x => x.Round!.Value, x => x.Blob.LastModified);
        var expired = new List<ExpiredBlob>();
        foreach (var blob in listed)
        {
            if (keep.Contains(blob.Name))
                continue;
            var relative = blob.Name[prefix.Length..];
            var last = relative.LastIndexOf('/');
            if (last <= 0)
                continue; // directly under the pipeline: its cancellation marker, its idempotency claim
            var slot = relative[..last];
            var file = relative[(last + 1)..];
            if (CheckpointLayout.IsSoupSlot(slot))
                continue;

            if (MemberRound(slot) is { } round && MemberFiles.Contains(file))
            {
                var landed = soups.TryGetValue(round, out var soupAt);
                var at = (landed ? soupAt : endedAt) + policy.MemberRetention;
                if (at <= now)
                {
                    var since = landed
                        ? string.Create(CultureInfo.InvariantCulture, $"its round's soup landed {soupAt:yyyy-MM-dd HH:mm}Z")
                        : string.Create(CultureInfo.InvariantCulture, $"the pipeline ended {endedAt:yyyy-MM-dd HH:mm}Z (round {round} has no soup)");
                    expired.Add(new ExpiredBlob(blob.Name, at, string.Create(CultureInfo.InvariantCulture,
                        $"{Describe(file)} of round {round}'s member, {policy.MemberDays} days after {since}")));
                }
            }
            else if (TransientFiles.Contains(file))
            {
                var at = endedAt + policy.MemberRetention;
                if (at <= now)
                {
                    expired.Add(new ExpiredBlob(blob.Name, at, string.Create(CultureInfo.InvariantCulture,
                        $"{Describe(file)} of slot {slot}, {policy.MemberDays} days after the pipeline ended {endedAt:yyyy-MM-dd HH:mm}Z")));
                }
            }
        }

        return expired;
    }

    /// <summary>Whether an instance that ended at <paramref name="endedAt"/> is past its retention at <paramref name="now"/>.</summary>
    public static bool InstanceExpired(DateTimeOffset endedAt, RetentionPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return endedAt + policy.InstanceRetention <= now;
    }

    /// <summary>
    /// The round of a member slot (<c>round-RR/member-MMM</c>) or of a MORL baseline's, kept as long as members
    /// (<c>round-RR/morl-KKK</c>), else null.
    /// </summary>
    public static int? MemberRound(string slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        var parts = slot.Split('/');
        if (parts.Length != 2)
            return null;
        foreach (var prefix in (string[])["member-", "morl-"])
        {
            if (parts[1].StartsWith(prefix, StringComparison.Ordinal) && parts[1].Length > prefix.Length && parts[1][prefix.Length..].All(char.IsAsciiDigit))
                return Round(parts[0]);
        }

        return null;
    }

    /// <summary>The round of a round's soup checkpoint (<c>round-RR/soup/model.safetensors</c>, relative to the pipeline), else null.</summary>
    private static int? SoupRound(string relative)
    {
        var parts = relative.Split('/');
        return parts.Length == 3 && parts[1] == "soup" && parts[2] == CheckpointLayout.CheckpointFile ? Round(parts[0]) : null;
    }

    private static int? Round(string folder) =>
        folder.StartsWith("round-", StringComparison.Ordinal)
        && int.TryParse(folder.AsSpan("round-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var round) && round > 0
            ? round
            : null;

    private static string Describe(string file) => file switch
    {
        CheckpointLayout.CheckpointFile => "checkpoint",
        CheckpointLayout.ResumeFile => "resumption checkpoint",
        CheckpointLayout.ProgressFile => "progress report",
        CheckpointLayout.JobFile => "job file",
        CheckpointLayout.SamplingStateFile => "pairs job's sampling state",
        CheckpointLayout.DrawFile => "pairs job's draw",
        _ => file,
    };
}
