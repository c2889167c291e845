namespace Soup.Core.Jobs;

/// <summary>
/// What a worker puts on the poison queue (<c>{jobsQueue}-poison</c>, the name Functions queue triggers use) for a
/// message it cannot handle at all: not base64, not JSON, not a job, or a job that names no slot. The message is taken
/// off the jobs queue, so it is neither retried forever nor lost: an operator reads the reason and the body here.
/// </summary>
/// <param name="MessageId">The message's id on the jobs queue.</param>
/// <param name="Reason">Why it could not be handled.</param>
/// <param name="DequeueCount">How many times it had been delivered.</param>
/// <param name="Body">The message body as received (text; cut at <see cref="MaxBody"/> characters).</param>
/// <param name="Truncated">True when <paramref name="Body"/> was cut.</param>
/// <param name="Worker">The worker that moved it.</param>
/// <param name="At">When it was moved (UTC).</param>
public sealed record PoisonMessage(string MessageId, string Reason, long DequeueCount, string Body, bool Truncated, string Worker, DateTimeOffset At)
{
    /// <summary>The most characters of the original body kept: the poison record must fit in one 64 KB queue message.</summary>
    public const int MaxBody = 16 * 1024;

    /// <summary>A record of <paramref name="body"/>, cut to <see cref="MaxBody"/> characters.</summary>
    public static PoisonMessage Of(string messageId, string reason, long dequeueCount, string body, string worker, DateTimeOffset at) =>
        new(messageId, reason, dequeueCount, body.Length <= MaxBody ? body : body[..MaxBody], body.Length > MaxBody, worker, at);
}
