namespace Soup.Merging.Checkpoints;

/// <summary>
/// A safetensors file or blob breaks a rule of the format. The message names the source, the tensor
/// (when one is concerned) and the rule.
/// </summary>
/// <remarks>
/// It derives from <see cref="FormatException"/> because <see cref="InvalidDataException"/> is sealed. It is deliberately
/// not an <see cref="IOException"/>: a malformed file is not a transient I/O failure worth retrying.
/// </remarks>
public sealed class SafetensorsFormatException : FormatException
{
    /// <summary>Creates the exception with a message only.</summary>
    public SafetensorsFormatException()
        : this("The safetensors data is malformed.")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public SafetensorsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public SafetensorsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for <paramref name="source"/>, optionally about one tensor.</summary>
    /// <param name="source">The file path or blob name.</param>
    /// <param name="tensorName">The tensor concerned, or <see langword="null"/> for the file as a whole.</param>
    /// <param name="rule">The rule that was broken, in words.</param>
    /// <param name="innerException">The exception that revealed the problem, if any.</param>
    public SafetensorsFormatException(string source, string? tensorName, string rule, Exception? innerException = null)
        : base(FormatMessage(source, tensorName, rule), innerException)
    {
        SourceName = source;
        TensorName = tensorName;
    }

    /// <summary>The file path or blob name that was being read, when known.</summary>
    public string? SourceName { get; }

    /// <summary>The tensor the rule concerns, or <see langword="null"/> when it concerns the file as a whole.</summary>
    public string? TensorName { get; }

    private static string FormatMessage(string source, string? tensorName, string rule) =>
        tensorName is null
            ? $"Invalid safetensors '{source}': {rule}"
            : $"Invalid safetensors '{source}', tensor '{tensorName}': {rule}";
}
