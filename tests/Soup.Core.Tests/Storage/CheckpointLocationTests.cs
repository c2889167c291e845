using Soup.Core.Storage;
using Soup.Merging;

namespace Soup.Core.Tests.Storage;

public sealed class CheckpointLocationTests
{
    private static readonly Uri Account = new("http://127.0.0.1:10000/devstoreaccount1");
    private static readonly string[] Allowed = ["checkpoints", "specs"];

    [Fact]
    public void Parse_BlobScheme_GivesContainerAndName()
    {
        var location = CheckpointLocation.Parse("blob:checkpoints/p/round-01/soup/model.safetensors", Account, Allowed);
        Assert.True(location.IsBlob);
        Assert.Equal("checkpoints", location.Container);
        Assert.Equal("p/round-01/soup/model.safetensors", location.BlobName);
    }

    [Fact]
    public void Parse_UrlInConfiguredAccount_GivesContainerAndName()
    {
        var location = CheckpointLocation.Parse("http://127.0.0.1:10000/devstoreaccount1/checkpoints/a/b%20c.safetensors", Account, Allowed);
        Assert.Equal("checkpoints", location.Container);
        Assert.Equal("a/b c.safetensors", location.BlobName);
    }

    [Theory]
    [InlineData("https://evil.blob.core.windows.net/checkpoints/x.safetensors", "outside the configured storage account")]
    [InlineData("http://127.0.0.1:10000/otheraccount/checkpoints/x.safetensors", "outside the configured storage account")]
    [InlineData("blob:secrets/x.safetensors", "container 'secrets'")]
    [InlineData("blob:checkpoints/../x.safetensors", "not a safe relative name")]
    [InlineData("blob:checkpoints", "does not name a blob")]
    public void Parse_OutsideWhatTheAppMayTouch_IsRejected(string text, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => CheckpointLocation.Parse(text, Account, Allowed));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PlainPath_IsAFullLocalPath()
    {
        var location = CheckpointLocation.Parse("models/a.safetensors", Account, Allowed);
        Assert.False(location.IsBlob);
        Assert.Equal(Path.GetFullPath("models/a.safetensors"), location.Path);
    }
}
