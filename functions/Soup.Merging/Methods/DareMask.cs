using System.Text;

namespace Soup.Merging.Methods;

/// <summary>
/// DARE's random drops as a pure function of (seed, member index, tensor name, element index), so any chunking of a
/// tensor, on any machine, drops the same elements. A counter-based generator:
/// <c>stream = mix(mix(mix(seed) ^ fnv1a64(utf8(tensor))) ^ member)</c>, element i's draw
/// <c>u = mix(stream + (i + 1)·0x9E3779B97F4A7C15) &gt;&gt; 11</c> (53 uniform bits), kept when
/// <c>u &lt; ⌈density·2⁵³⌉</c>; <c>mix</c> is SplitMix64's finalizer and the seed is read as an unsigned 32-bit value.
/// </summary>
internal readonly struct DareMask
{
    private const ulong Gamma = 0x9E3779B97F4A7C15;
    private const double TwoTo53 = 9007199254740992.0;

    private readonly ulong _stream;
    private readonly ulong _threshold;

    public DareMask(int seed, int member, string tensor, double density)
    {
        _stream = Mix(Mix(Mix((uint)seed) ^ NameHash(tensor)) ^ (ulong)member);
        _threshold = density >= 1 ? 1UL << 53 : (ulong)Math.Ceiling(density * TwoTo53);
    }

    /// <summary>Whether element <paramref name="element"/> of the tensor survives the drop.</summary>
    public bool Keep(long element) => Mix(_stream + ((ulong)(element + 1) * Gamma)) >> 11 < _threshold;

    /// <summary>Drops the values of elements offset, offset+1, … and multiplies the kept ones by <paramref name="rescale"/>.</summary>
    public void Apply<T>(Span<T> values, long offset, T rescale)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Keep(offset + i) ? values[i] * rescale : T.Zero;
        }
    }

    /// <summary>SplitMix64's output function (Steele, Lea and Flood 2014).</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>64-bit FNV-1a of the name's UTF-8 bytes (stable across processes, unlike string.GetHashCode).</summary>
    public static ulong NameHash(string name)
    {
        var hash = 0xCBF29CE484222325;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 0x100000001B3;
        }

        return hash;
    }
}
