using System.Runtime.InteropServices;
using Soup.Cli.Commands;
using Soup.Merging.Checkpoints;
using Soup.Merging;

namespace Soup.EndToEnd.Tests;

/// <summary><c>pipeline merge</c> on local files: results, and bad input that writes nothing.</summary>
public sealed class MergeCommandTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("soup-merge-cli-");

    [Fact]
    public async Task Merge_ThreeFiles_WritesTheirMeanAndReports()
    {
        var inputs = Enumerable.Range(0, 3).Select(i => Write($"m{i}.safetensors", i)).ToList();
        var output = Path.Combine(_folder.FullName, "soup.safetensors");
        var text = new StringWriter();

        var code = await MergeCommand.ExecuteAsync(new MergeCommandArgs(inputs, output, new MergeParameters()), text, text, TestContext.Current.CancellationToken);

        Assert.True(code == 0, text.ToString());
        var soup = Safetensors.Read(await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken), output);
        var values = MemoryMarshal.Cast<byte, float>(soup.Tensors.Single().Data.Span).ToArray();
        Assert.Equal([1f, 2f, 3f, 4f], values); // members hold (i + 1) * [0.5, 1, 1.5, 2] for i = 0, 1, 2: mean is 2 * that at i = 0
        Assert.Contains("Merged 3 member(s) with linear", text.ToString());
        Assert.Equal("linear", soup.Metadata["merge_method"]);
    }

    [Fact]
    public async Task Merge_SlerpOfThreeModels_FailsAndWritesNothing()
    {
        var inputs = Enumerable.Range(0, 3).Select(i => Write($"m{i}.safetensors", i)).ToList();
        var output = Path.Combine(_folder.FullName, "soup.safetensors");
        var text = new StringWriter();

        var code = await MergeCommand.ExecuteAsync(new MergeCommandArgs(inputs, output, new MergeParameters { Method = "slerp" }), text, text, TestContext.Current.CancellationToken);

        Assert.Equal(2, code); // a usage error: checked before anything is read
        Assert.Contains("exactly 2", text.ToString());
        Assert.Equal(3, _folder.GetFiles().Length); // the three inputs, nothing else
    }

    [Fact]
    public async Task Merge_TruncatedMember_FailsNamingItAndWritesNothing()
    {
        var good = Write("good.safetensors", 0);
        var bad = Write("bad.safetensors", 1);
        var bytes = await File.ReadAllBytesAsync(bad, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(bad, bytes[..^3], TestContext.Current.CancellationToken);
        var output = Path.Combine(_folder.FullName, "soup.safetensors");
        var text = new StringWriter();

        var code = await MergeCommand.ExecuteAsync(new MergeCommandArgs([good, bad], output, new MergeParameters()), text, text, TestContext.Current.CancellationToken);

        Assert.Equal(1, code);
        Assert.Contains("bad.safetensors", text.ToString());
        Assert.False(File.Exists(output));
        Assert.Equal(2, _folder.GetFiles().Length);
    }

    [Fact]
    public async Task Merge_BlobOutsideConfiguredContainers_IsRefusedBeforeAnythingRuns()
    {
        var input = Write("m0.safetensors", 0);
        var text = new StringWriter();

        var code = await MergeCommand.ExecuteAsync(
            new MergeCommandArgs([input, "blob:secrets/x.safetensors"], Path.Combine(_folder.FullName, "o.safetensors"), new MergeParameters()),
            text,
            text,
            TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Contains("container 'secrets'", text.ToString());
    }

    [Theory]
    [InlineData("512MB", 512L << 20)]
    [InlineData("2GB", 2L << 30)]
    [InlineData("1.5GiB", 3L << 29)]
    [InlineData("4096", 4096)]
    public void ByteSize_Parse_ReadsUnits(string text, long expected) => Assert.Equal(expected, ByteSize.Parse(text));

    [Fact]
    public void ByteSize_Parse_RejectsNonsense() => Assert.Throws<FormatException>(() => ByteSize.Parse("lots"));

    public void Dispose() => _folder.Delete(recursive: true);

    private string Write(string name, int i)
    {
        float[] values = [0.5f * (i + 1), 1f * (i + 1), 1.5f * (i + 1), 2f * (i + 1)];
        var path = Path.Combine(_folder.FullName, name);
        using var stream = File.Create(path);
        Safetensors.Write(stream, [new TensorData("w", SafetensorsDtype.F32, [2, 2], MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
        return path;
    }
}
