using System.Globalization;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// External event names (one per job slot, so each stage's events are distinct) and the instance each one goes to:
/// a round's jobs are awaited by that round's sub-orchestration, the init stage's by the pipeline itself.
/// </summary>
public static class LandingEvents
{
    private const string RoundPrefix = "round-";

    /// <summary>The event raised when the job in <paramref name="slot"/> lands.</summary>
    public static string Name(string slot) => "landed:" + slot;

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
