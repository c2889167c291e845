using Azure.Storage.Blobs;
using Soup.Merging.Checkpoints;

namespace Soup.EndToEnd.Tests;

/// <summary>Reading checkpoints back from a container, and the check that a merge is the members' elementwise mean.</summary>
internal static class CheckpointAsserts
{
    public static async Task<SafetensorsContent> ReadAsync(BlobContainerClient container, string blob) =>
        Safetensors.Read((await container.GetBlobClient(blob).DownloadContentAsync()).Value.Content.ToMemory(), blob);

    public static void AssertIsElementWiseMean(IReadOnlyList<SafetensorsContent> members, SafetensorsContent soup)
    {
        Assert.Equal(members[0].Tensors.Select(t => t.Name), soup.Tensors.Select(t => t.Name));
        foreach (var tensor in soup.Tensors)
        {
            Assert.Equal(SafetensorsDtype.F32, tensor.Dtype);
            var actual = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.Data.Span).ToArray();
            var inputs = members.Select(m => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(m.Tensors.Single(t => t.Name == tensor.Name).Data.Span).ToArray()).ToList();
            for (var i = 0; i < actual.Length; i++)
            {
                var expected = inputs.Average(values => (double)values[i]);
                Assert.True(Math.Abs(expected - actual[i]) <= 1e-6, $"{tensor.Name}[{i}]: soup {actual[i]} but member mean {expected}");
            }
        }
    }
}
