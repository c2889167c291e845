using Soup.Merging.Checkpoints;
using static TorchSharp.torch;

namespace Soup.Training.Checkpoints;

/// <summary>Maps torch scalar types to safetensors dtypes and back.</summary>
internal static class TorchDtypes
{
    private static readonly (ScalarType Torch, SafetensorsDtype Safetensors)[] Pairs =
    [
        (ScalarType.Float32, SafetensorsDtype.F32),
        (ScalarType.Float64, SafetensorsDtype.F64),
        (ScalarType.Float16, SafetensorsDtype.F16),
        (ScalarType.BFloat16, SafetensorsDtype.BF16),
        (ScalarType.Int64, SafetensorsDtype.I64),
        (ScalarType.Int32, SafetensorsDtype.I32),
        (ScalarType.Int16, SafetensorsDtype.I16),
        (ScalarType.Int8, SafetensorsDtype.I8),
        (ScalarType.Byte, SafetensorsDtype.U8),
        (ScalarType.Bool, SafetensorsDtype.BOOL),
    ];

    public static SafetensorsDtype ToSafetensors(ScalarType type, string tensorName)
    {
        foreach (var pair in Pairs)
        {
            if (pair.Torch == type)
                return pair.Safetensors;
        }
        throw new NotSupportedException($"Tensor '{tensorName}' has type {type}, which has no safetensors dtype here.");
    }

    public static ScalarType ToTorch(SafetensorsDtype dtype, string tensorName, string source)
    {
        foreach (var pair in Pairs)
        {
            if (pair.Safetensors == dtype)
                return pair.Torch;
        }
        throw new InvalidDataException($"{source}: tensor '{tensorName}' has dtype {dtype}, which torch cannot load here.");
    }
}
