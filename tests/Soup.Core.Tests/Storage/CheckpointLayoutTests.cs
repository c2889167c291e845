using Soup.Core.Storage;

namespace Soup.Core.Tests.Storage;

public sealed class CheckpointLayoutTests
{
    private const string Id = "quickstart-20250101-120000-a1b2c3";

    [Fact]
    public void Parse_MemberCheckpoint_ReturnsPipelineSlotAndKind()
    {
        var blob = $"{Id}/round-01/member-002/model.safetensors";

        var landed = CheckpointLayout.Parse(blob);

        Assert.Equal(new LandedBlob(Id, "round-01/member-002", LandingKind.Checkpoint, blob), landed);
    }

    [Fact]
    public void Parse_EvaluationResults_ReturnsEvaluation()
    {
        var blob = $"{Id}/round-02/eval/results.json";

        var landed = CheckpointLayout.Parse(blob);

        Assert.Equal(new LandedBlob(Id, "round-02/eval", LandingKind.Evaluation, blob), landed);
    }

    [Theory]
    [InlineData("round-03/member-010")]
    [InlineData("round-03/eval")]
    [InlineData("init")]
    public void Parse_FailureRecord_ReturnsFailureForItsSlot(string slot)
    {
        var blob = $"{Id}/{slot}/failed.json";

        var landed = CheckpointLayout.Parse(blob);

        Assert.Equal(new LandedBlob(Id, slot, LandingKind.Failure, blob), landed);
    }

    [Fact]
    public void Parse_InitCheckpoint_ReturnsInitSlot()
    {
        var landed = CheckpointLayout.Parse($"{Id}/init/model.safetensors");

        Assert.NotNull(landed);
        Assert.Equal(CheckpointLayout.InitSlot, landed.Slot);
        Assert.Equal(LandingKind.Checkpoint, landed.Kind);
    }

    [Theory]
    [InlineData("/round-01/soup/model.safetensors")]
    [InlineData("/round-01/soup/results.json")]
    [InlineData("/round-12/soup/failed.json")]
    public void Parse_Soup_ReturnsNull(string suffix) => Assert.Null(CheckpointLayout.Parse(Id + suffix));

    [Theory]
    [InlineData("")]
    [InlineData("model.safetensors")]
    [InlineData("pipeline/model.safetensors")]
    [InlineData("/round-01/member-000/model.safetensors")]
    [InlineData("pipeline/round-01/member-000/model.safetensors.tmp")]
    [InlineData("pipeline/round-01/member-000/notes.txt")]
    [InlineData("pipeline/round-01/member-000/")]
    [InlineData("bases/model.safetensors")]
    public void Parse_UnrelatedName_ReturnsNull(string blob) => Assert.Null(CheckpointLayout.Parse(blob));

    [Theory]
    [InlineData(1, 0, "round-01/member-000")]
    [InlineData(2, 7, "round-02/member-007")]
    [InlineData(12, 42, "round-12/member-042")]
    [InlineData(50, 255, "round-50/member-255")]
    public void MemberSlot_RoundAndMember_ZeroPadded(int round, int member, string expected) =>
        Assert.Equal(expected, CheckpointLayout.MemberSlot(round, member));

    [Fact]
    public void SoupAndEvaluationSlots_Round_ZeroPadded()
    {
        Assert.Equal("round-03/soup", CheckpointLayout.SoupSlot(3));
        Assert.Equal("round-03/eval", CheckpointLayout.EvaluationSlot(3));
        Assert.Equal($"{Id}/round-03/soup/model.safetensors", CheckpointLayout.Blob(Id, CheckpointLayout.SoupSlot(3), CheckpointLayout.CheckpointFile));
    }

    [Fact]
    public void Parse_BlobOfEveryMemberSlot_ReturnsThatSlot()
    {
        for (var round = 1; round <= 50; round += 7)
        {
            for (var member = 0; member < 256; member += 17)
            {
                var slot = CheckpointLayout.MemberSlot(round, member);

                var landed = CheckpointLayout.Parse(CheckpointLayout.Blob(Id, slot, CheckpointLayout.CheckpointFile));

                Assert.Equal((Id, slot), (landed?.PipelineId, landed?.Slot));
            }
        }
    }
}
