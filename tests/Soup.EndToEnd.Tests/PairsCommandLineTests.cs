using Soup.Training.Text;

namespace Soup.EndToEnd.Tests;

/// <summary><c>pipeline pairs</c> as users run it: pairs of real continuations from a corpus folder, and input it cannot use.</summary>
public sealed class PairsCommandLineTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("soup-pairs-cli-");

    [Fact]
    public async Task CorpusCompletions_WriteTheThreeDatasets_LabelledByTheGoldReward()
    {
        var corpus = Directory.CreateDirectory(Path.Combine(_folder.FullName, "corpus"));
        File.WriteAllLines(Path.Combine(corpus.FullName, "notes.txt"), Enumerable.Range(0, 80).SelectMany(i => new[]
        {
            $"Note {i} starts here and goes on" + string.Concat(Enumerable.Repeat($" word{i}", (i % 11) + 1)),
            "",
        }));
        var output = Path.Combine(_folder.FullName, "out");

        var (code, stdout, stderr) = await CliRun.RunAsync(
            ["pairs", "--corpus", corpus.FullName, "--out", output, "--name", "notes", "--completions", "corpus", "--reward", "conciseness",
             "--train-pairs", "20", "--test-pairs", "8", "--prompt-tokens", "4", "--max-new-tokens", "12", "--noise", "0.25"]);

        Assert.True(code == 0, stderr);
        Assert.Contains("20 training pairs (5 labels flipped) and 8 test pairs", stdout, StringComparison.Ordinal);
        var clean = PreferencePairs.Read(Path.Combine(output, "notes-clean", "pairs.jsonl"));
        var noisy = PreferencePairs.Read(Path.Combine(output, "notes-noisy", "pairs.jsonl"));
        Assert.Equal(8, PreferencePairs.Read(Path.Combine(output, "notes-test", "pairs.jsonl")).Count);
        Assert.All(clean, p => Assert.True(GoldRewards.Conciseness.Score(p.Chosen) > GoldRewards.Conciseness.Score(p.Rejected), $"'{p.Chosen}' vs '{p.Rejected}'"));
        Assert.Equal(5, noisy.Zip(clean).Count(p => p.First.Chosen != p.Second.Chosen));
        Assert.False(File.Exists(Path.Combine(output, "notes-policy.safetensors"))); // no policy is involved
    }

    [Fact]
    public async Task NoCorpusThere_OrTooFewDocuments_ExitTwo_OneLine_NothingWritten()
    {
        var output = Path.Combine(_folder.FullName, "out");
        var missing = Path.Combine(_folder.FullName, "no-such-corpus");
        var small = Directory.CreateDirectory(Path.Combine(_folder.FullName, "small"));
        File.WriteAllText(Path.Combine(small.FullName, "one.txt"), "Just one document that is long enough to give a prompt and more.");

        var (c1, _, e1) = await CliRun.RunAsync(["pairs", "--corpus", missing, "--out", output, "--completions", "corpus"]);
        var (c2, _, e2) = await CliRun.RunAsync(["pairs", "--corpus", small.FullName, "--out", output, "--completions", "corpus"]);

        Assert.Equal((2, 2), (c1, c2));
        Assert.Contains($"Text corpus folder '{missing}' does not exist", e1, StringComparison.Ordinal);
        Assert.Contains("1 of 1 documents are longer than 8 tokens: too few", e2, StringComparison.Ordinal);
        Assert.All(new[] { e1, e2 }, e => Assert.DoesNotContain("   at ", e, StringComparison.Ordinal));
        Assert.False(Directory.Exists(output));
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
