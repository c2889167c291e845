using System.Text.Json;
using Soup.Core;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>Turns a landed blob into the notice its pipeline waits for, reading a failure record's reason.</summary>
public sealed class LandingReader(SoupStorage storage)
{
    /// <summary>The storage landings are read from.</summary>
    public SoupStorage Storage => storage;

    private const int MaxReasonChars = 4000;

    /// <summary>Builds the notice for <paramref name="landed"/>.</summary>
    public async Task<LandingNotice> ToNoticeAsync(LandedBlob landed, CancellationToken cancellationToken = default)
    {
        string? reason = null;
        if (landed.Kind == LandingKind.Failure)
        {
            var text = await storage.ReadTextAsync(landed.BlobName, MaxReasonChars, cancellationToken);
            reason = TryReadReason(text) ?? text;
        }

        return new LandingNotice(landed.Slot, landed.Kind, landed.BlobName, reason);
    }

    private static string? TryReadReason(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, SoupJson.Default.FailureRecord)?.Reason;
        }
        catch (JsonException)
        {
            return null; // A truncated or hand-written record: its raw text is the reason.
        }
    }
}
