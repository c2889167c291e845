using Soup.Training.Text;

namespace Soup.Training.Tests;

public sealed class TextCorpusTests : IDisposable
{
    private const string DebianFortunes = "/usr/share/games/fortunes";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Read_FortuneFileBesideItsDat_SplitsOnPercentLines()
    {
        Write("wisdom", "  First fortune.\n%\nSecond fortune,\n\nwith a blank line.\n\t-- Someone\n%\n%\n");
        File.WriteAllBytes(_folder.File("wisdom.dat"), [0, 0, 0, 2, 1, 2, 3]);
        Write("notes", "No .dat beside me.\n%\nSo I am not read.\n");

        var corpus = TextCorpus.Read(_folder.Path);

        Assert.Equal(["wisdom"], corpus.Files);
        Assert.Equal(["First fortune.", "Second fortune,\n\nwith a blank line.\n\t-- Someone"], corpus.Documents);
    }

    [Fact]
    public void Read_Topics_ReadsOnlyTheNamedFiles_AndAMissingOneIsNamedWithWhatThereIs()
    {
        Write("a.txt", "Alpha one.\n\nAlpha two.\n");
        Write("b.txt", "Beta.\n");
        Write("more/c.txt", "Gamma.\n");

        var some = TextCorpus.Read(_folder.Path, ["more/c.txt", "a.txt"]);
        var error = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(_folder.Path, ["b.txt", "d.txt"]));

        Assert.Equal(["a.txt", "more/c.txt"], some.Files);
        Assert.Equal(["Alpha one.", "Alpha two.", "Gamma."], some.Documents);
        Assert.Equal(["a.txt", "b.txt", "more/c.txt"], TextCorpus.Read(_folder.Path, null).Files);
        Assert.Contains("has no text file 'd.txt'", error.Message, StringComparison.Ordinal);
        Assert.Contains("there are: a.txt, b.txt, more/c.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TxtWithPercentLines_SplitsOnThemOnly()
    {
        Write("quotes.txt", "One\n\nstill one.\r\n%\r\nTwo.\r\n%   \nstill two: that line is not only %.\n");

        Assert.Equal(["One\n\nstill one.", "Two.\n%   \nstill two: that line is not only %."], TextCorpus.Read(_folder.Path).Documents);
    }

    [Fact]
    public void Read_TxtWithoutPercentLines_SplitsOnBlankLines()
    {
        Write("story.txt", "\n\nPara one,\nline two.\n\n\n  \t\nPara two.\r\n\r\nPara three.");

        Assert.Equal(["Para one,\nline two.", "Para two.", "Para three."], TextCorpus.Read(_folder.Path).Documents);
    }

    [Fact]
    public void Read_Jsonl_TakesTheTextField()
    {
        Write("docs.jsonl", """
            {"text": "  first  ", "id": 1}

            {"id": 2, "text": "second\nwith a newline"}
            {"text": "   "}
            """);

        Assert.Equal(["first", "second\nwith a newline"], TextCorpus.Read(_folder.Path).Documents);
    }

    [Theory]
    [InlineData("{\"text\": ", "not valid JSON")]
    [InlineData("\"just a string\"", "expected a JSON object, found String")]
    [InlineData("{\"body\": \"x\"}", "field 'text' is missing")]
    [InlineData("{\"text\": 3}", "field 'text' is Number, not a string")]
    public void Read_MalformedJsonlLine_NamesFileAndLine(string line, string problem)
    {
        Write("a.txt", "Fine.");
        var path = Write("sub/docs.jsonl", "{\"text\": \"ok\"}\n" + line + "\n{\"text\": \"ok\"}\n");

        var error = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(_folder.Path));

        Assert.StartsWith($"{path} line 2: {problem}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MixedNestedFolders_InOrdinalOrderOfRelativePaths()
    {
        Write("b.txt", "from b");
        Write("a/z.jsonl", "{\"text\": \"from a/z\"}");
        Write("A.txt", "from A, 1\n\nfrom A, 2");
        Write("a/deeper/fortunes", "from fortune 1\n%\nfrom fortune 2\n%\n");
        Write("a/deeper/fortunes.dat", "index");
        Write("a/readme.md", "not read");
        Write("a/.hidden.txt", "not read");
        Write(".git/config.txt", "not read");

        var corpus = TextCorpus.Read(_folder.Path);

        Assert.Equal(["A.txt", "a/deeper/fortunes", "a/z.jsonl", "b.txt"], corpus.Files);
        Assert.Equal(["from A, 1", "from A, 2", "from fortune 1", "from fortune 2", "from a/z", "from b"], corpus.Documents);
        Assert.Equal(Path.GetFullPath(_folder.Path), corpus.Folder);
    }

    [Fact]
    public void Read_LinkedFolder_IsNotFollowed()
    {
        Write("a.txt", "only once");
        Directory.CreateSymbolicLink(_folder.File("loop"), _folder.Path);

        var corpus = TextCorpus.Read(_folder.Path);

        Assert.Equal(["a.txt"], corpus.Files);
        Assert.Equal(["only once"], corpus.Documents);
    }

    [Fact]
    public void Read_NoDocuments_NamesTheFolder()
    {
        Write("blank.txt", "\n   \n%\n\t\n");
        Write("readme.md", "Not a corpus file.");

        var error = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(_folder.Path));

        Assert.Contains($"'{Path.GetFullPath(_folder.Path)}' holds no documents", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingFolder_NamesIt()
    {
        var missing = _folder.File("nowhere");

        var error = Assert.Throws<DirectoryNotFoundException>(() => TextCorpus.Read(missing));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MoreBytesThanTheLimit_SaysSo()
    {
        Write("a.txt", new string('x', 60));
        Write("b.txt", new string('y', 40));

        Assert.Equal(2, TextCorpus.Read(_folder.Path, maxBytes: 100).Documents.Count);
        var error = Assert.Throws<InvalidDataException>(() => TextCorpus.Read(_folder.Path, maxBytes: 99));
        Assert.Contains("more than 99 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFullPath(_folder.Path), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Split_HoldsOutRoundOfTheFraction_DisjointAndInCorpusOrder()
    {
        var corpus = Numbered(10);

        var split = corpus.Split(0.25, seed: 1);

        Assert.Equal(3, split.HeldOut.Count); // 2.5 rounds away from zero
        Assert.Equal(7, split.Train.Count);
        Assert.Empty(split.Train.Intersect(split.HeldOut));
        Assert.Equal(corpus.Documents.Order(), split.Train.Concat(split.HeldOut).Order());
        Assert.Equal(corpus.Documents.Where(split.Train.Contains), split.Train);
        Assert.Equal(corpus.Documents.Where(split.HeldOut.Contains), split.HeldOut);
    }

    [Fact]
    public void Split_SameSeed_Same_OtherSeed_Other()
    {
        var corpus = Numbered(60);

        var first = corpus.Split(0.2, seed: 5);

        Assert.Equal(first.HeldOut, corpus.Split(0.2, seed: 5).HeldOut);
        Assert.Equal(first.HeldOut, Numbered(60).Split(0.2, seed: 5).HeldOut);
        Assert.NotEqual(first.HeldOut, corpus.Split(0.2, seed: 6).HeldOut);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Split_FractionOutsideZeroToOne_Throws(double fraction) =>
        Assert.Equal("heldOutFraction", Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(3).Split(fraction, 1)).ParamName);

    [Fact]
    public void Prompts_AreTheFirstTokensOfTheHeldOutDocuments_SkippingOneTokenOnes()
    {
        var tokenizer = TextTokenizer.Get("gpt2");
        string[] documents = ["Hi", "The quick brown fox jumps over the lazy dog.", "Hello world", "A third prompt that is long enough."];
        Assert.Single(tokenizer.Encode(documents[0]));
        Assert.Equal(2, tokenizer.Encode(documents[2]).Length);
        var split = new TextCorpusSplit([], documents);

        var prompts = split.Prompts(tokenizer, count: 2, promptTokens: 3);

        Assert.Equal([tokenizer.Encode(documents[1])[..3], tokenizer.Encode(documents[2])], prompts);
        Assert.Equal(3, split.Prompts(tokenizer, count: 10, promptTokens: 3).Count);
        Assert.Empty(split.Prompts(tokenizer, count: 0, promptTokens: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => split.Prompts(tokenizer, count: 1, promptTokens: 0));
    }

    [Fact]
    public void Prompts_FromACorpusSplit_ComeFromItsHeldOutDocuments()
    {
        var tokenizer = TextTokenizer.Get("gpt2");
        var split = Numbered(20).Split(0.3, seed: 2);

        var prompts = split.Prompts(tokenizer, count: 4, promptTokens: 2);

        Assert.Equal(split.HeldOut.Take(4).Select(document => tokenizer.Encode(document)[..2]), prompts);
    }

    [Fact]
    public void Read_DebianFortunes_GivesThousandsOfDocuments()
    {
        // fortunes-min (three files) fills the same folder: art is the full package's.
        Assert.True(File.Exists(Path.Combine(DebianFortunes, "art")), $"{DebianFortunes}/art is missing: scripts/setup.sh fortunes installs Debian's fortunes package.");

        var corpus = TextCorpus.Read(DebianFortunes);

        Assert.InRange(corpus.Documents.Count, 10_000, 30_000);
        Assert.Contains("art", corpus.Files);
        Assert.DoesNotContain(corpus.Files, file => file.EndsWith(".dat", StringComparison.Ordinal) || file.EndsWith(".u8", StringComparison.Ordinal));
        Assert.Contains("A celebrity is a person who is known for his well-knownness.", corpus.Documents);
        Assert.DoesNotContain(corpus.Documents, document => document.Split('\n').Contains("%"));
    }

    private TextCorpus Numbered(int count)
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "numbered.txt"), string.Join("\n\n", Enumerable.Range(0, count).Select(i => $"Document number {i}.")));
        return TextCorpus.Read(folder.Path);
    }

    private string Write(string relativePath, string content)
    {
        var path = _folder.File(relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }
}
