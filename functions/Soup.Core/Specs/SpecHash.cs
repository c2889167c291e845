using System.Security.Cryptography;
using System.Text.Json;

namespace Soup.Core.Specs;

/// <summary>A fingerprint of a spec, recorded in every checkpoint a pipeline makes (metadata <c>spec_hash</c>).</summary>
public static class SpecHash
{
    /// <summary>
    /// The SHA-256 (lower-case hex) of the spec serialised with every setting, defaults included: two specs that run the
    /// same pipeline hash alike however they were written. Pure, so orchestrators may call it.
    /// </summary>
    public static string Compute(PipelineSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var json = JsonSerializer.SerializeToUtf8Bytes(spec, SpecJsonContext.Default.PipelineSpec);
        return Convert.ToHexStringLower(SHA256.HashData(json));
    }
}
