using System.Text;
using System.Text.Json;
using Soup.Training.Text;

namespace Soup.Training.Tests;

public sealed class PreferencePairsTests : IDisposable
{
    private const string GoodLine = """{"prompt": "Say hi", "chosen": "Hi!", "rejected": "Go away."}""";

    private static readonly PreferencePair[] Pairs =
    [
        new("Tell me a fortune.", "You will have a wonderful day.", "You will lose your keys."),
        new("", "An unconditional sample.", "Another one."),
        new("Quotes \"and\" \\ backslashes", "Line one\nline two\ttabbed", "Ünïcödé, café, 🎉, <html> & 'apostrophes'"),
    ];

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Write_ThenRead_GivesThePairs()
    {
        var path = _folder.File("pairs.jsonl");

        PreferencePairs.Write(path, Pairs);

        Assert.Equal(Pairs, PreferencePairs.Read(path));
    }

    [Fact]
    public void Write_IsOneCompactUtf8ObjectPerLine_WithoutBom()
    {
        var path = _folder.File("pairs.jsonl");

        PreferencePairs.Write(path, Pairs);
        var bytes = File.ReadAllBytes(path);
        var text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);

        Assert.NotEqual(0xEF, bytes[0]);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', text);
        var lines = text[..^1].Split('\n');
        Assert.Equal(Pairs.Length, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            Assert.DoesNotContain(": ", lines[i], StringComparison.Ordinal);
            using var document = JsonDocument.Parse(lines[i]);
            Assert.Equal(Pairs[i].Chosen, document.RootElement.GetProperty("chosen").GetString());
        }

        Assert.Contains("café", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BlankLinesAndExtraFields_AreSkippedAndIgnored()
    {
        var path = _folder.File("pairs.jsonl");
        File.WriteAllText(path, "\n" + GoodLine + "\r\n  \n" + """{"id": 7, "prompt": "", "chosen": "a", "rejected": "b", "score": [1, 2]}""" + "\n\n");

        var pairs = PreferencePairs.Read(path);

        Assert.Equal([new PreferencePair("Say hi", "Hi!", "Go away."), new PreferencePair("", "a", "b")], pairs);
    }

    [Theory]
    [InlineData("{\"prompt\": \"p\", \"chosen\": ", "not valid JSON")]
    [InlineData("[\"p\", \"c\", \"r\"]", "expected a JSON object, found Array")]
    [InlineData("{\"prompt\": \"p\", \"rejected\": \"r\"}", "field 'chosen' is missing")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"c\"}", "field 'rejected' is missing")]
    [InlineData("{\"chosen\": \"c\", \"rejected\": \"r\"}", "field 'prompt' is missing")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": 3, \"rejected\": \"r\"}", "field 'chosen' is Number, not a string")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": null, \"rejected\": \"r\"}", "field 'chosen' is Null, not a string")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"\"}", "field 'rejected' is empty")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"\", \"rejected\": \"r\"}", "field 'chosen' is empty")]
    public void Read_MalformedLine_NamesFileLineAndProblem(string line, string problem)
    {
        var path = _folder.File("pairs.jsonl");
        File.WriteAllText(path, GoodLine + "\n\n" + line + "\n" + GoodLine + "\n");

        var error = Assert.Throws<InvalidDataException>(() => PreferencePairs.Read(path));

        Assert.StartsWith($"{path} line 3: {problem}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n  \n\n")]
    public void Read_NoPairs_NamesTheFile(string content)
    {
        var path = _folder.File("empty.jsonl");
        File.WriteAllText(path, content);

        var error = Assert.Throws<InvalidDataException>(() => PreferencePairs.Read(path));

        Assert.StartsWith($"{path}: no preference pairs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_PairThatCouldNotBeRead_NamesItAndWritesNothing()
    {
        var path = _folder.File("pairs.jsonl");

        var error = Assert.Throws<ArgumentException>(() => PreferencePairs.Write(path, [Pairs[0], Pairs[1] with { Rejected = "" }]));

        Assert.StartsWith("Preference pair 1: field 'rejected' is empty.", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }
}
