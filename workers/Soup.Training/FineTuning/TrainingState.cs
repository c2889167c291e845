using System.Globalization;
using Soup.Merging.Checkpoints;

namespace Soup.Training.FineTuning;

/// <summary>
/// Everything a fine-tuning run needs to go on from <see cref="Step"/> as if it had never stopped: tensors named
/// <c>model.*</c> (weights and buffers), <c>optimizer.*</c> (per-parameter state), <c>average.*</c> (the MA sums or
/// the EMA), <c>ema.*</c> (the anchor's EMA model), <c>rng.*</c> (the dropout generator) and <c>run.*</c> (running
/// sums of the final metrics).
/// </summary>
/// <param name="Step">Steps done; the run resumes with step <c>Step + 1</c>.</param>
/// <param name="Tensors">The tensors, on the CPU.</param>
public sealed record TrainingState(int Step, IReadOnlyList<TensorData> Tensors)
{
    /// <summary>The safetensors metadata key holding <see cref="Step"/>.</summary>
    public const string StepKey = "step";

    /// <summary>Writes the state as safetensors, with <see cref="StepKey"/> added to <paramref name="metadata"/>.</summary>
    /// <param name="destination">The stream to write to; not flushed or closed.</param>
    /// <param name="metadata">Further metadata (e.g. the job id), or null.</param>
    public void ToSafetensors(Stream destination, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            all[key] = value;
        all[StepKey] = Step.ToString(CultureInfo.InvariantCulture);
        Safetensors.Write(destination, Tensors, all);
    }

    /// <summary>Reads a state written by <see cref="ToSafetensors"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The metadata has no valid <see cref="StepKey"/>.</exception>
    /// <exception cref="SafetensorsFormatException">The bytes are not valid safetensors.</exception>
    public static TrainingState FromSafetensors(ReadOnlyMemory<byte> bytes, string source) =>
        FromContent(Safetensors.Read(bytes, source), source);

    /// <summary>The state in safetensors content already read (e.g. to check other metadata first).</summary>
    /// <exception cref="InvalidDataException">The metadata has no valid <see cref="StepKey"/>.</exception>
    public static TrainingState FromContent(SafetensorsContent content, string source)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.Metadata.TryGetValue(StepKey, out var text)
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
            throw new InvalidDataException($"{source}: no valid '{StepKey}' in the metadata of the training state.");
        return new TrainingState(step, content.Tensors);
    }
}
