using System.Diagnostics;
using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

public sealed class CheckpointMergeLargeFileTests : IDisposable
{
    private const int TensorCount = 12;
    private const int TensorElements = 1 << 20; // 4 MiB of F32 each: ~48 MiB per file.

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void UniformAverage_FilesOfManyLargeTensors_StreamsWithBoundedMemory()
    {
        var random = new Random(99);
        var members = Enumerable.Range(0, 3)
            .Select(_ => Enumerable.Range(0, TensorCount).Select(_ => TestTensors.RandomFloats(random, TensorElements)).ToArray())
            .ToArray();
        var paths = members.Select((tensors, m) =>
        {
            var path = _directory.File($"m{m}.safetensors");
            TestTensors.WriteFile(path, tensors.Select((values, t) => TestTensors.F32($"layer{t}.weight", [1024, 1024], values)));
            return path;
        }).ToArray();
        var output = _directory.File("soup.safetensors");
        var fileSize = new FileInfo(paths[0]).Length;

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var stopwatch = Stopwatch.StartNew();
        var summary = FileMerge.UniformAverage(paths, output, cancellationToken: TestContext.Current.CancellationToken);
        stopwatch.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.True(fileSize > 48_000_000, $"input is {fileSize} bytes");
        Assert.True(allocated < fileSize / 3, $"the merge allocated {allocated} bytes for {fileSize}-byte inputs");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"the merge took {stopwatch.Elapsed}");
        Assert.Equal(new MergeSummary(TensorCount, (long)TensorCount * TensorElements, fileSize, 3), summary);
        using var merged = SafetensorsFile.Open(output);
        foreach (var t in new[] { 0, 7, TensorCount - 1 })
        {
            var actual = TestTensors.AsFloats(merged.ReadTensor($"layer{t}.weight"));
            for (var i = 0; i < TensorElements; i += 997)
            {
                var expected = ((double)members[0][t][i] + members[1][t][i] + members[2][t][i]) / 3;
                Assert.Equal(expected, actual[i], 1e-6);
            }
        }
    }
}
