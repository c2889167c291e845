namespace Soup.Merging.Checkpoints;

/// <summary>Facts about <see cref="SafetensorsDtype"/>: element sizes, kinds and the names used in the JSON header.</summary>
public static class SafetensorsDtypes
{
    /// <summary>Every dtype this library reads and writes.</summary>
    public static IReadOnlyList<SafetensorsDtype> All { get; } = Enum.GetValues<SafetensorsDtype>();

    /// <summary>The size of one element in bytes (BOOL and the float8 types take one byte).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined dtype.</exception>
    public static int ElementSize(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.BOOL or SafetensorsDtype.U8 or SafetensorsDtype.I8
            or SafetensorsDtype.F8_E4M3 or SafetensorsDtype.F8_E5M2 => 1,
        SafetensorsDtype.I16 or SafetensorsDtype.U16 or SafetensorsDtype.F16 or SafetensorsDtype.BF16 => 2,
        SafetensorsDtype.I32 or SafetensorsDtype.U32 or SafetensorsDtype.F32 => 4,
        SafetensorsDtype.I64 or SafetensorsDtype.U64 or SafetensorsDtype.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
    };

    /// <summary>Whether merges average the dtype (as floats: F16, BF16, F32; F64 in double). Float8 is not averaged.</summary>
    public static bool IsMergeable(this SafetensorsDtype dtype) =>
        dtype is SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.F32 or SafetensorsDtype.F64;

    /// <summary>Whether the dtype holds floating-point numbers (F8_E4M3, F8_E5M2, F16, BF16, F32, F64).</summary>
    public static bool IsFloatingPoint(this SafetensorsDtype dtype) => dtype is
        SafetensorsDtype.F8_E4M3 or SafetensorsDtype.F8_E5M2 or SafetensorsDtype.F16
        or SafetensorsDtype.BF16 or SafetensorsDtype.F32 or SafetensorsDtype.F64;

    /// <summary>The name the JSON header uses for the dtype, e.g. <c>F32</c> or <c>F8_E4M3</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined dtype.</exception>
    public static string ToHeaderName(this SafetensorsDtype dtype) =>
        Enum.IsDefined(dtype)
            ? dtype.ToString()
            : throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype.");

    /// <summary>Parses a header dtype name; exact and case-sensitive, as in the reference implementation.</summary>
    /// <returns><see langword="false"/> for a name that is not one of <see cref="All"/> (numbers included).</returns>
    public static bool TryParseHeaderName(string? name, out SafetensorsDtype dtype)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.ToString(), name, StringComparison.Ordinal))
            {
                dtype = candidate;
                return true;
            }
        }

        dtype = default;
        return false;
    }

    /// <summary>Parses a header dtype name.</summary>
    /// <exception cref="FormatException">The name is not a dtype this library supports.</exception>
    public static SafetensorsDtype ParseHeaderName(string name) =>
        TryParseHeaderName(name, out var dtype)
            ? dtype
            : throw new FormatException($"'{name}' is not a supported safetensors dtype.");
}
