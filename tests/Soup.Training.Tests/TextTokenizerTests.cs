using Soup.Training.Text;

namespace Soup.Training.Tests;

public sealed class TextTokenizerTests
{
    private readonly TextTokenizer _gpt2 = TextTokenizer.Get("gpt2");

    [Theory]
    [InlineData("Hello world", new[] { 15496, 995 })]
    [InlineData(" The quick brown fox", new[] { 383, 2068, 7586, 21831 })]
    [InlineData("<|endoftext|>", new[] { 50256 })]
    public void Encode_KnownTexts_GiveGpt2Ids(string text, int[] expected) => Assert.Equal(expected, _gpt2.Encode(text));

    [Theory]
    [InlineData("A fortune: \"Never put off till tomorrow what you can do the day after.\" -- Mark Twain\n")]
    [InlineData("Ünïcödé, emoji 🎉 and tabs\tand  double  spaces")]
    [InlineData("")]
    public void Decode_OfEncode_IsTheText(string text) => Assert.Equal(text, _gpt2.Decode(_gpt2.Encode(text)));

    [Fact]
    public void Gpt2_EndOfTextAndVocabulary_AreGpt2s()
    {
        Assert.Equal(50256, _gpt2.EndOfText);
        Assert.Equal(50257, _gpt2.VocabularySize);
    }

    [Fact]
    public void Get_UnknownName_ListsTheKnownTokenizers()
    {
        var error = Assert.Throws<ArgumentException>(() => TextTokenizer.Get("llama"));

        Assert.StartsWith("Unknown tokenizer 'llama'. Known tokenizers: gpt2.", error.Message, StringComparison.Ordinal);
    }
}
