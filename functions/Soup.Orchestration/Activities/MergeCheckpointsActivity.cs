using Azure.Storage.Blobs.Models;
using Soup.Core.Checkpoints;
using Soup.Core.Storage;
using Microsoft.DurableTask;

namespace Soup.Orchestration.Activities;

/// <summary>
/// Merges member checkpoints into the soup with a uniform average. Members are downloaded to a scratch folder, merged
/// one tensor at a time into a local file, and the soup is uploaded in one commit: a failed merge leaves no soup blob.
/// </summary>
public sealed class MergeCheckpointsActivity(SoupStorage storage) : TaskActivity<MergeRequest, MergeOutcome>
{
    /// <inheritdoc />
    public override async Task<MergeOutcome> RunAsync(TaskActivityContext context, MergeRequest input)
    {
        var scratch = Directory.CreateTempSubdirectory("soup-merge-");
        try
        {
            var paths = new List<string>();
            for (var i = 0; i < input.Members.Count; i++)
            {
                var path = Path.Combine(scratch.FullName, $"member-{i}.safetensors");
                await storage.Checkpoints.GetBlobClient(input.Members[i]).DownloadToAsync(path);
                paths.Add(path);
            }

            var output = Path.Combine(scratch.FullName, "soup.safetensors");
            var summary = CheckpointMerge.UniformAverage(paths, output, input.Metadata);
            await using (var stream = File.OpenRead(output))
            {
                await storage.Checkpoints.GetBlobClient(input.Output).UploadAsync(stream, new BlobUploadOptions());
            }

            return new MergeOutcome(input.Output, summary.TensorCount, summary.ParameterCount, summary.BytesWritten);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }
}
