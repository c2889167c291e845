using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>Turns a landed blob into the notice its pipeline waits for, reading a failure record's reason.</summary>
public sealed class LandingReader(SoupStorage storage)
{
    private const int MaxReasonChars = 4000;

    /// <summary>Builds the notice for <paramref name="landed"/>.</summary>
    public async Task<LandingNotice> ToNoticeAsync(LandedBlob landed, CancellationToken cancellationToken = default)
    {
        string? reason = null;
        if (landed.Kind == LandingKind.Failure)
        {
            reason = await storage.ReadTextAsync(landed.BlobName, MaxReasonChars, cancellationToken);
        }

        return new LandingNotice(landed.Slot, landed.Kind, landed.BlobName, reason);
    }
}
