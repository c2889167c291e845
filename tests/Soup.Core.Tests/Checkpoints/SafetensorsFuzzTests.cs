using System.Text;
using Soup.Merging.Checkpoints;

namespace Soup.Core.Tests.Checkpoints;

/// <summary>
/// Property test of the reader: random bytes and random mutations of valid files are either read or rejected with a
/// <see cref="SafetensorsFormatException"/>, never another exception, a crash or a hang.
/// </summary>
public sealed class SafetensorsFuzzTests
{
    private const int Cases = 4000;

    [Fact(Timeout = 120_000)]
    public async Task Read_MutatedValidFiles_OnlyReadOrReject()
    {
        await Task.Run(() =>
        {
            var random = new Random(20261127);
            var valid = ValidFile(random);
            for (var i = 0; i < Cases; i++)
            {
                AssertReadOrReject(Mutate(valid, random), $"mutation case {i}");
            }
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 120_000)]
    public async Task Read_RandomBytesWithPlausibleHeaderLength_OnlyReject()
    {
        await Task.Run(() =>
        {
            var random = new Random(7);
            for (var i = 0; i < Cases; i++)
            {
                var bytes = new byte[random.Next(0, 256)];
                random.NextBytes(bytes);
                if (bytes.Length >= 8 && random.Next(2) == 0)
                {
                    BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)random.Next(0, bytes.Length));
                }

                AssertReadOrReject(bytes, $"random case {i}");
            }
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 120_000)]
    public async Task Read_HeaderJsonMutations_OnlyReadOrReject()
    {
        await Task.Run(() =>
        {
            var random = new Random(3);
            const string header = """{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}""";
            string[] pieces = ["9223372036854775807", "-1", "1e400", "null", "[]", "{}", "\"F8_E4M3\"", "\"X\"", "\uD800", "18446744073709551615", "0"];
            for (var i = 0; i < Cases; i++)
            {
                var text = new StringBuilder(header);
                var at = random.Next(text.Length);
                if (random.Next(2) == 0)
                {
                    text.Remove(at, Math.Min(random.Next(1, 6), text.Length - at));
                }

                text.Insert(random.Next(text.Length), pieces[random.Next(pieces.Length)]);
                var json = Encoding.UTF8.GetBytes(text.ToString());
                var file = new byte[8 + json.Length + 24];
                BitConverter.TryWriteBytes(file.AsSpan(0, 8), (ulong)json.Length);
                json.CopyTo(file, 8);
                AssertReadOrReject(file, $"header case {i}: {text}");
            }
        }, TestContext.Current.CancellationToken);
    }

    private static void AssertReadOrReject(byte[] bytes, string label)
    {
        try
        {
            Safetensors.Read(bytes, label);
        }
        catch (SafetensorsFormatException)
        {
            // rejected: fine
        }
        catch (Exception ex)
        {
            Assert.Fail($"{label}: {ex.GetType().Name} escaped the reader: {ex.Message}");
        }

        var path = Path.Combine(Path.GetTempPath(), $"fuzz-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        try
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var tensor in file.Tensors)
            {
                _ = file.ReadTensor(tensor);
            }
        }
        catch (SafetensorsFormatException)
        {
        }
        catch (Exception ex)
        {
            Assert.Fail($"{label} (file): {ex.GetType().Name} escaped the reader: {ex.Message}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] ValidFile(Random random)
    {
        var a = new byte[4 * 6];
        var b = new byte[2 * 3];
        random.NextBytes(a);
        random.NextBytes(b);
        using var stream = new MemoryStream();
        Safetensors.Write(
            stream,
            [new TensorData("a", SafetensorsDtype.F32, [2, 3], a), new TensorData("b", SafetensorsDtype.BF16, [3], b)],
            new Dictionary<string, string> { ["k"] = "v" });
        return stream.ToArray();
    }

    private static byte[] Mutate(byte[] valid, Random random)
    {
        var bytes = (byte[])valid.Clone();
        switch (random.Next(4))
        {
            case 0:
                for (var k = random.Next(1, 4); k > 0; k--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
                return [.. bytes, .. new byte[random.Next(1, 9)]];
            default:
                var at = random.Next(8, bytes.Length);
                return [.. bytes[..at], (byte)random.Next(256), .. bytes[at..]];
        }
    }
}
