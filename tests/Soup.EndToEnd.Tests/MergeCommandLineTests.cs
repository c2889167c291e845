using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Soup.Merging.Checkpoints;

namespace Soup.EndToEnd.Tests;

/// <summary>
/// <c>pipeline merge</c> as users run it: the real executable, its exit code, and what it prints on stdout and stderr.
/// Usage errors exit 2 with one line on stderr naming the option; inputs are never replaced by accident; a cancelled
/// merge says so and leaves nothing.
/// </summary>
public sealed class MergeCommandLineTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("soup-merge-cli-process-");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string[], string> UsageErrors => new()
    {
        { ["A", "B", "-w", "a,b", "-o", "O"], "--weights: 'a' (item 1) is not a number" },
        { ["A", "B", "-w", "1,,2", "-o", "O"], "--weights: item 2 of '1,,2' is empty" },
        { ["A", "B", "-m", "average", "-o", "O"], "--method: unknown merge method 'average'" },
        { ["A", "B", "-m", "slerp", "--t", "1.5", "-o", "O"], "--t must be in [0, 1], got 1.5" },
        { ["A", "B", "-m", "task_arithmetic", "--lambda", "abc", "-o", "O"], "--lambda" },
        { ["-o", "O"], "give the member checkpoints, or a mergekit config with --config" },
        { ["A", "B"], "--output" },
        { ["A", "B", "--chunk-elements", "0", "-o", "O"], "--chunk-elements must be at least 1, got 0" },
        { ["A", "--bogus-opt", "B", "-o", "O"], "unknown option '--bogus-opt'" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task AUsageError_Exits2_WithOneLineOnStderrNamingTheOption(string[] arguments, string expected)
    {
        var args = arguments.Select(a => a switch { "A" => Write("a.safetensors", 1), "B" => Write("b.safetensors", 2), "O" => Path.Combine(_folder.FullName, "o.safetensors"), _ => a }).ToArray();

        var (code, stdout, stderr) = await RunAsync(["merge", .. args]);

        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pipeline merge: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\s+at \S+\(", stderr); // no stack frame
        Assert.Equal("", stdout.Trim());
        Assert.False(File.Exists(Path.Combine(_folder.FullName, "o.safetensors")));
    }

    [Fact]
    public async Task AnOutputThatIsAnInput_IsRefused_UnlessForced()
    {
        var a = Write("a.safetensors", 1);
        var b = Write("b.safetensors", 3);
        var before = await File.ReadAllBytesAsync(a, Cancel);

        var (refused, _, stderr) = await RunAsync(["merge", a, b, "-o", Path.Combine(_folder.FullName, ".", "a.safetensors")]);
        var (baseRefused, _, baseError) = await RunAsync(["merge", b, "-m", "task_arithmetic", "--base", a, "-o", a]);

        Assert.Equal((2, 2), (refused, baseRefused));
        Assert.Contains("is also member 1", stderr, StringComparison.Ordinal);
        Assert.Contains("is also the base", baseError, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(a, Cancel));

        var (forced, _, _) = await RunAsync(["merge", a, b, "-o", a, "--force"]);

        Assert.Equal(0, forced);
        Assert.Equal([4f, 4f, 4f, 4f], Values(a)); // the mean of 2 and 6 (each value is 2 x the index given to Write)
    }

    [Fact]
    public async Task ShardingIntoAFolderOfAnEarlierShardedOutput_LeavesNoStaleShards()
    {
        var inputs = Enumerable.Range(1, 2).Select(i => WriteLarge($"m{i}.safetensors", i, tensors: 6)).ToList();
        var output = Path.Combine(_folder.FullName, "sharded");

        var (first, _, _) = await RunAsync(["merge", .. inputs, "-o", output, "--shard-size", "20KB"]);
        var earlier = Directory.GetFiles(output).Select(Path.GetFileName).Order().ToList();
        var (second, stdout, _) = await RunAsync(["merge", .. inputs, "-o", output, "--shard-size", "50KB"]);
        var now = Directory.GetFiles(output).Select(Path.GetFileName).Order().ToList();

        Assert.Equal((0, 0), (first, second));
        Assert.True(earlier.Count > now.Count, $"{string.Join(", ", earlier)} -> {string.Join(", ", now)}");
        var index = ShardIndexNames(Path.Combine(output, "model.safetensors.index.json"));
        Assert.Equal(index.Append("model.safetensors.index.json").Order(), now);
        Assert.Contains("a shard of the earlier output", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShardingUnderABlobPrefixOfAnEarlierShardedOutput_LeavesNoStaleShards()
    {
        // The CLI's storage is the development storage (Azurite); merges write only to the checkpoints container.
        var container = new Azure.Storage.Blobs.BlobContainerClient("UseDevelopmentStorage=true", "checkpoints");
        await container.CreateIfNotExistsAsync(cancellationToken: Cancel);
        var prefix = $"merge-cli-{Guid.NewGuid():N}/sharded";
        var inputs = Enumerable.Range(1, 2).Select(i => WriteLarge($"m{i}.safetensors", i, tensors: 6)).ToList();
        async Task<List<string>> ListAsync()
        {
            var names = new List<string>();
            await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix + "/", Cancel))
                names.Add(blob.Name[(prefix.Length + 1)..]);
            return [.. names.Order()];
        }

        try
        {
            var (first, _, _) = await RunAsync(["merge", .. inputs, "-o", $"blob:checkpoints/{prefix}", "--shard-size", "20KB"]);
            var earlier = await ListAsync();
            var (second, stdout, _) = await RunAsync(["merge", .. inputs, "-o", $"blob:checkpoints/{prefix}", "--shard-size", "50KB"]);
            var now = await ListAsync();

            Assert.Equal((0, 0), (first, second));
            Assert.True(earlier.Count > now.Count, $"{string.Join(", ", earlier)} -> {string.Join(", ", now)}");
            var index = (await container.GetBlobClient($"{prefix}/model.safetensors.index.json").DownloadContentAsync(Cancel)).Value.Content;
            Assert.Equal(ShardIndexNames(index.ToArray()).Append("model.safetensors.index.json").Order(), now);
            Assert.Contains("a shard of the earlier output", stdout, StringComparison.Ordinal);
        }
        finally
        {
            await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix + "/", CancellationToken.None))
                await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task ASignal_DuringAMerge_SaysItWasCancelled_AndWritesNothing(string signal)
    {
        var inputs = Enumerable.Range(1, 2).Select(i => WriteLarge($"big{i}.safetensors", i, tensors: 64, values: 1 << 20)).ToList(); // 2 x 256 MiB
        var output = Path.Combine(_folder.FullName, "soup.safetensors");
        using var process = Start(["merge", .. inputs, "-o", output, "--memory-budget", "4MB", "--chunk-elements", "16384"]);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var progressed = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            lock (stdout)
                stdout.AppendLine(e.Data);
            if (e.Data?.Contains("(", StringComparison.Ordinal) == true && e.Data.Contains("tensors)", StringComparison.Ordinal) && !e.Data.TrimStart().StartsWith("0", StringComparison.Ordinal))
                progressed.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
                stderr.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        await progressed.Task.WaitAsync(TimeSpan.FromSeconds(60), Cancel);
        using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill!.WaitForExitAsync(Cancel);
        await process.WaitForExitAsync(Cancel).WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        Assert.Equal(130, process.ExitCode);
        Assert.Contains($"merge cancelled; nothing was written at {output}.", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Empty(_folder.GetFiles("soup.safetensors*"));
    }

    [Fact]
    public async Task BadFiles_AreNamedForWhatTheyAre()
    {
        var noBrace = Path.Combine(_folder.FullName, "space.safetensors");
        var header = Encoding.UTF8.GetBytes(" {}");
        await File.WriteAllBytesAsync(noBrace, [.. BitConverter.GetBytes((ulong)header.Length), .. header], Cancel);
        var hugeOffset = Path.Combine(_folder.FullName, "offset.safetensors");
        var json = Encoding.UTF8.GetBytes("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775808,9223372036854775812]}}""");
        await File.WriteAllBytesAsync(hugeOffset, [.. BitConverter.GetBytes((ulong)json.Length), .. json, 0, 0, 0, 0], Cancel);
        var good = Write("good.safetensors", 1);

        var (c1, _, e1) = await RunAsync(["merge", good, noBrace, "-o", Path.Combine(_folder.FullName, "o1.safetensors")]);
        var (c2, _, e2) = await RunAsync(["merge", good, "/dev/zero", "-o", Path.Combine(_folder.FullName, "o2.safetensors")]);
        var (c3, _, e3) = await RunAsync(["merge", good, hugeOffset, "-o", Path.Combine(_folder.FullName, "o3.safetensors")]);

        Assert.Equal((1, 1, 1), (c1, c2, c3));
        Assert.Contains("the header must be a JSON object beginning with '{', not byte 0x20", e1, StringComparison.Ordinal);
        Assert.Contains("'/dev/zero' is not a regular file", e2, StringComparison.Ordinal);
        Assert.DoesNotContain("0 bytes long", e2, StringComparison.Ordinal);
        Assert.Contains("holds 9223372036854775808, larger than any file can be", e3, StringComparison.Ordinal);
        Assert.DoesNotContain("non-negative", e3, StringComparison.Ordinal);
        Assert.Empty(_folder.GetFiles("o?.safetensors*"));
    }

    public void Dispose() => _folder.Delete(recursive: true);

    private static Process Start(IEnumerable<string> arguments) => CliRun.Start(arguments);

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(IEnumerable<string> arguments) => CliRun.RunAsync(arguments);

    private string Write(string name, int i)
    {
        float[] values = [2f * i, 2f * i, 2f * i, 2f * i];
        var path = Path.Combine(_folder.FullName, name);
        using var stream = File.Create(path);
        Safetensors.Write(stream, [new TensorData("w", SafetensorsDtype.F32, [2, 2], MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
        return path;
    }

    private string WriteLarge(string name, int i, int tensors, int values = 4096)
    {
        var path = Path.Combine(_folder.FullName, name);
        var data = new float[values];
        Array.Fill(data, i);
        var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
        using var stream = File.Create(path);
        Safetensors.Write(stream, [.. Enumerable.Range(0, tensors).Select(t => new TensorData($"t{t:D2}", SafetensorsDtype.F32, [values], bytes))]);
        return path;
    }

    private static float[] Values(string path) =>
        MemoryMarshal.Cast<byte, float>(Safetensors.Read(File.ReadAllBytes(path), path).Tensors.Single().Data.Span).ToArray();

    private static IEnumerable<string> ShardIndexNames(string index) => ShardIndexNames(File.ReadAllBytes(index));

    private static IEnumerable<string> ShardIndexNames(byte[] index)
    {
        using var json = System.Text.Json.JsonDocument.Parse(index);
        return [.. json.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).Distinct()];
    }
}
