namespace Soup.Merging.Checkpoints;

/// <summary>The element types of the safetensors format, named as in its JSON header.</summary>
public enum SafetensorsDtype
{
    BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64,
    F8_E4M3, F8_E5M2,
}
