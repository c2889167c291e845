using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

public sealed class SafetensorsDtypesTests
{
    [Theory]
    [InlineData(SafetensorsDtype.BOOL, 1, false, "BOOL")]
    [InlineData(SafetensorsDtype.U8, 1, false, "U8")]
    [InlineData(SafetensorsDtype.I8, 1, false, "I8")]
    [InlineData(SafetensorsDtype.F8_E4M3, 1, true, "F8_E4M3")]
    [InlineData(SafetensorsDtype.F8_E5M2, 1, true, "F8_E5M2")]
    [InlineData(SafetensorsDtype.I16, 2, false, "I16")]
    [InlineData(SafetensorsDtype.U16, 2, false, "U16")]
    [InlineData(SafetensorsDtype.F16, 2, true, "F16")]
    [InlineData(SafetensorsDtype.BF16, 2, true, "BF16")]
    [InlineData(SafetensorsDtype.I32, 4, false, "I32")]
    [InlineData(SafetensorsDtype.U32, 4, false, "U32")]
    [InlineData(SafetensorsDtype.F32, 4, true, "F32")]
    [InlineData(SafetensorsDtype.I64, 8, false, "I64")]
    [InlineData(SafetensorsDtype.U64, 8, false, "U64")]
    [InlineData(SafetensorsDtype.F64, 8, true, "F64")]
    public void Helpers_EachDtype_MatchReferenceTable(SafetensorsDtype dtype, int size, bool floating, string headerName)
    {
        Assert.Equal(size, dtype.ElementSize());
        Assert.Equal(floating, dtype.IsFloatingPoint());
        Assert.Equal(headerName, dtype.ToHeaderName());
        Assert.Equal(dtype, SafetensorsDtypes.ParseHeaderName(headerName));
    }

    [Fact]
    public void All_ListsEveryEnumValue_Fifteen()
    {
        Assert.Equal(15, SafetensorsDtypes.All.Count);
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("9")]
    [InlineData("F4")]
    [InlineData("C64")]
    [InlineData("")]
    [InlineData(null)]
    public void TryParseHeaderName_NotAnExactSupportedName_ReturnsFalse(string? name)
    {
        Assert.False(SafetensorsDtypes.TryParseHeaderName(name, out _));
    }

    [Fact]
    public void ElementSize_UndefinedValue_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ((SafetensorsDtype)99).ElementSize());
    }
}
