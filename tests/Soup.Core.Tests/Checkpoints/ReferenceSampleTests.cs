using System.Buffers.Binary;
using System.Text;
using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

/// <summary>
/// Compatibility with the reference implementation: samples/overall.safetensors of huggingface/safetensors (commit
/// bd71d43, "sample files to test other implementations", public domain/Unlicense), written by the reference Python
/// package from numpy arrays range(-3, 3) of every dtype, with metadata {"test": "a"}.
/// </summary>
public sealed class ReferenceSampleTests
{
    private const string OverallBase64 = "DgIAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJ0ZXN0IjoiYSJ9LCJCIjp7ImR0eXBlIjoiVTgiLCJzaGFwZSI6WzZdLCJkYXRhX29mZnNldHMiOlswLDZdfSwiSCI6eyJkdHlwZSI6IlUxNiIsInNoYXBlIjpbNl0sImRhdGFfb2Zmc2V0cyI6WzYsMThdfSwiSSI6eyJkdHlwZSI6IlUzMiIsInNoYXBlIjpbNl0sImRhdGFfb2Zmc2V0cyI6WzE4LDQyXX0sImIiOnsiZHR5cGUiOiJJOCIsInNoYXBlIjpbNl0sImRhdGFfb2Zmc2V0cyI6WzQyLDQ4XX0sImQiOnsiZHR5cGUiOiJGNjQiLCJzaGFwZSI6WzZdLCJkYXRhX29mZnNldHMiOls0OCw5Nl19LCJlIjp7ImR0eXBlIjoiRjE2Iiwic2hhcGUiOls2XSwiZGF0YV9vZmZzZXRzIjpbOTYsMTA4XX0sImYiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzZdLCJkYXRhX29mZnNldHMiOlsxMDgsMTMyXX0sImgiOnsiZHR5cGUiOiJJMTYiLCJzaGFwZSI6WzZdLCJkYXRhX29mZnNldHMiOlsxMzIsMTQ0XX0sImkiOnsiZHR5cGUiOiJJMzIiLCJzaGFwZSI6WzZdLCJkYXRhX29mZnNldHMiOlsxNDQsMTY4XX19/f7/AAEC/f/+////AAABAAIA/f////7/////////AAAAAAEAAAACAAAA/f7/AAECAAAAAAAACMAAAAAAAAAAwAAAAAAAAPC/AAAAAAAAAAAAAAAAAADwPwAAAAAAAABAAMIAwAC8AAAAPABAAABAwAAAAMAAAIC/AAAAAAAAgD8AAABA/f/+////AAABAAIA/f////7/////////AAAAAAEAAAACAAAA";

    [Fact]
    public void Read_ReferenceSample_HoldsRangeMinus3To3InEveryDtype()
    {
        var content = Safetensors.Read(Convert.FromBase64String(OverallBase64), "overall.safetensors");

        Assert.Equal("a", content.Metadata["test"]);
        Assert.Equal(9, content.Tensors.Count); // U8, U16, U32, I8, F64, F16, F32, I16, I32
        foreach (var tensor in content.Tensors)
        {
            Assert.Equal([6L], tensor.Shape);
            var expected = Enumerable.Range(-3, 6).ToArray();
            Assert.Equal(expected.Select(v => Wrap(tensor.Dtype, v)), Values(tensor));
        }
    }

    [Fact]
    public void Write_SameTensors_GivesTheReferenceBytesWithHeaderPaddedTo8()
    {
        var reference = Convert.FromBase64String(OverallBase64);
        var content = Safetensors.Read(reference, "overall.safetensors");
        using var stream = new MemoryStream();

        Safetensors.Write(stream, content.Tensors, content.Metadata);

        var ours = stream.ToArray();
        var referenceHeader = Header(reference);
        var ourHeader = Header(ours);
        Assert.Equal(0, (8 + ourHeader.Length) % 8);
        Assert.Equal(referenceHeader, ourHeader.TrimEnd(' ')); // the same JSON, byte for byte, then the padding
        Assert.Equal(reference[(8 + referenceHeader.Length)..], ours[(8 + ourHeader.Length)..]);
    }

    private static string Header(byte[] file)
    {
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return Encoding.UTF8.GetString(file, 8, length);
    }

    private static double Wrap(SafetensorsDtype dtype, int value) => dtype switch
    {
        SafetensorsDtype.U8 => (byte)value,
        SafetensorsDtype.U16 => (ushort)value,
        SafetensorsDtype.U32 => (uint)value,
        SafetensorsDtype.U64 => (ulong)(long)value,
        _ => value,
    };

    private static List<double> Values(TensorData tensor)
    {
        var size = tensor.Data.Length / 6;
        var values = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            var b = tensor.Data.Span.Slice(i * size, size);
            values.Add(tensor.Dtype switch
            {
                SafetensorsDtype.U8 => b[0],
                SafetensorsDtype.I8 => (sbyte)b[0],
                SafetensorsDtype.U16 => BinaryPrimitives.ReadUInt16LittleEndian(b),
                SafetensorsDtype.I16 => BinaryPrimitives.ReadInt16LittleEndian(b),
                SafetensorsDtype.U32 => BinaryPrimitives.ReadUInt32LittleEndian(b),
                SafetensorsDtype.I32 => BinaryPrimitives.ReadInt32LittleEndian(b),
                SafetensorsDtype.U64 => BinaryPrimitives.ReadUInt64LittleEndian(b),
                SafetensorsDtype.I64 => BinaryPrimitives.ReadInt64LittleEndian(b),
                SafetensorsDtype.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
                SafetensorsDtype.F32 => BinaryPrimitives.ReadSingleLittleEndian(b),
                SafetensorsDtype.F64 => BinaryPrimitives.ReadDoubleLittleEndian(b),
                _ => throw new InvalidOperationException($"unexpected dtype {tensor.Dtype} in the sample"),
            });
        }

        return values;
    }
}
