using System.Security.Cryptography;
using Azure;

namespace Soup.Core.Storage;

/// <summary>
/// What a storage error may say where users read it (a pipeline's failure, a job's failure record): its status and
/// error code, and a reference to the log entry that holds the whole response. The SDK's message carries the raw
/// response (request ids, headers, the service's text), which belongs in the log only.
/// </summary>
public static class StorageError
{
    /// <summary>"403 AuthorizationPermissionMismatch": the status and the service's error code.</summary>
    public static string Summary(RequestFailedException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return $"{error.Status} {error.ErrorCode ?? "(no error code)"}";
    }

    /// <summary>A fresh reference (12 hex digits) to log an error under and show beside its summary.</summary>
    public static string NewReference() => RandomNumberGenerator.GetHexString(12, lowercase: true);
}
