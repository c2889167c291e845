using Soup.Merging.Engine;

namespace Soup.Core.Tests.Checkpoints;

/// <summary>What the rules tests read of a file merge.</summary>
internal sealed record MergeSummary(int TensorCount, long ParameterCount, long BytesWritten, int MemberCount);

/// <summary>
/// The uniform average of safetensors files through the engine, with the in-memory average's method and options
/// (<see cref="CheckpointMerge"/>): the tests of the averaging rules on files call this.
/// </summary>
internal static class FileMerge
{
    public static MergeSummary UniformAverage(
        IReadOnlyList<string> inputPaths, string outputPath, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        RunAsync(inputPaths, outputPath, metadata, cancellationToken).GetAwaiter().GetResult();

    private static async Task<MergeSummary> RunAsync(
        IReadOnlyList<string> inputPaths, string outputPath, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var sources = new List<ICheckpointSource>(inputPaths.Count);
        try
        {
            foreach (var path in inputPaths)
            {
                cancellationToken.ThrowIfCancellationRequested();
                sources.Add(LocalFileSource.Open(path));
            }

            var summary = await MergeEngine.RunAsync(
                sources, null, CheckpointOutput.ToFile(outputPath), CheckpointMerge.Method(), CheckpointMerge.Options(metadata: metadata), cancellationToken);
            return new MergeSummary(summary.TensorCount, summary.ParameterCount, summary.BytesWritten, summary.MemberCount);
        }
        finally
        {
            foreach (var source in sources)
                await source.DisposeAsync();
        }
    }
}
