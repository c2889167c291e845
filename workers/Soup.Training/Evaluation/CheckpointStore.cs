using Soup.Merging.Checkpoints;

namespace Soup.Training.Evaluation;

/// <summary>
/// The checkpoints of an evaluation, read on demand: <see cref="Evaluator.EvaluateAsync"/> asks for one (for a
/// connectivity midpoint, two) at a time and tells the store when it is done with it, so that memory does not grow with
/// the number of checkpoints.
/// </summary>
public interface ICheckpointStore
{
    /// <summary>The checkpoints' names, in report order (e.g. their blob names).</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Reads checkpoint <paramref name="index"/>'s state dict.</summary>
    /// <exception cref="InvalidDataException">It cannot be read as a checkpoint; the message names it.</exception>
    Task<IReadOnlyList<TensorData>> LoadAsync(int index, CancellationToken cancellationToken);

    /// <summary>The evaluation no longer holds the tensors of that <see cref="LoadAsync"/> (once per load).</summary>
    void Unload(int index)
    {
    }
}

/// <summary>An <see cref="ICheckpointStore"/> over state dicts already in memory.</summary>
public sealed class InMemoryCheckpoints(IReadOnlyList<NamedCheckpoint> checkpoints) : ICheckpointStore
{
    /// <inheritdoc />
    public IReadOnlyList<string> Names { get; } = [.. checkpoints.Select(c => c.Name)];

    /// <inheritdoc />
    public Task<IReadOnlyList<TensorData>> LoadAsync(int index, CancellationToken cancellationToken) => Task.FromResult(checkpoints[index].Tensors);
}

/// <summary>An <see cref="ICheckpointStore"/> that reads each checkpoint by name when asked (from a blob, a file).</summary>
/// <param name="names">The checkpoints' names, in report order.</param>
/// <param name="load">Reads one by name.</param>
public sealed class CheckpointLoader(IReadOnlyList<string> names, Func<string, CancellationToken, Task<IReadOnlyList<TensorData>>> load) : ICheckpointStore
{
    /// <inheritdoc />
    public IReadOnlyList<string> Names { get; } = names;

    /// <inheritdoc />
    public Task<IReadOnlyList<TensorData>> LoadAsync(int index, CancellationToken cancellationToken) => load(Names[index], cancellationToken);
}
