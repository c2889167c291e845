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
        return Convert.ToHexStringLower(SHA256.HashData(Canonical(spec)));
    }

    /// <summary>The spec serialised as <see cref="Compute"/> hashes it (every setting, defaults included).</summary>
    public static byte[] Canonical(PipelineSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return JsonSerializer.SerializeToUtf8Bytes(spec, SpecJsonContext.Default.PipelineSpec);
    }

    /// <summary>Reads a spec written by <see cref="Canonical"/>.</summary>
    /// <exception cref="JsonException">It is not a spec.</exception>
    public static PipelineSpec? FromCanonical(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize(json, SpecJsonContext.Default.PipelineSpec);
}
