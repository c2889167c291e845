using System.Globalization;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// External event names and the instance each one goes to: a round's jobs are awaited by that round's
/// sub-orchestration, the init stage's by the pipeline itself. Every landing in one stage folder (<c>init</c>,
/// <c>round-RR</c>) has the same event name, and the notice names its slot: a stage keeps one wait open whatever its
/// job count (a wait per slot made each landing cost time in the number of jobs, twice over on every replay).
/// </summary>
public static class LandingEvents
{
    private const string RoundPrefix = "round-";

    /// <summary>The event raised when the job in <paramref name="slot"/> lands: <c>landed:{stage folder}</c>.</summary>
    public static string Name(string slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        var slash = slot.IndexOf('/', StringComparison.Ordinal);
        return "landed:" + (slash < 0 ? slot : slot[..slash]);
    }

    /// <summary>The deterministic instance id of round <paramref name="round"/> of a pipeline: <c>{pipelineId}:round-RR</c>.</summary>
    public static string RoundInstance(string pipelineId, int round) =>
        string.Create(CultureInfo.InvariantCulture, $"{pipelineId}:{RoundPrefix}{round:D2}");

    /// <summary>
    /// The instance that waits for the job in <paramref name="slot"/>: the round's sub-orchestration for a slot under
    /// <c>round-RR/</c>, else the pipeline. The round dispatches its own jobs, so it exists before any of them can land.
    /// </summary>
    public static string InstanceFor(string pipelineId, string slot)
    {
        var slash = slot.IndexOf('/', StringComparison.Ordinal);
        var folder = slash < 0 ? slot : slot[..slash];
        return folder.StartsWith(RoundPrefix, StringComparison.Ordinal)
            && int.TryParse(folder.AsSpan(RoundPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var round)
            && folder == CheckpointLayout.StageFolder(round) && round > 0
            ? RoundInstance(pipelineId, round)
            : pipelineId;
    }
}
