using System.Text.Json;
using Azure;
using Soup.Core;
using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Orchestration;

/// <summary>
/// A round's result is stored once, in full, as <c>{pipelineId}/round-RR/summary.json</c> in the checkpoints container
/// (written by the <see cref="TaskNames.SummarizeRound"/> activity), and travels through the orchestrations' histories
/// as a summary (<see cref="Summary"/>): the soup, its scores and the diagnostics, without the per-member lists that grow
/// with the round (a 256-member round's result is ~160 KB, and history keeps it four times: the activity's output, the
/// round's output, the parent's record of it and the pipeline's output). Readers that show results
/// (<see cref="PipelineStatusReader"/>, the report) load the full ones (<see cref="LoadAsync(SoupStorage, PipelineResult?, CancellationToken)"/>).
/// </summary>
public static class RoundResults
{
    /// <summary>The file name of a round's full result in the round's folder.</summary>
    public const string FileName = "summary.json";

    /// <summary>How many rounds' results are read at once.</summary>
    private const int Parallelism = 8;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The blob of round <paramref name="round"/>'s full result: <c>{pipelineId}/round-RR/summary.json</c>.</summary>
    public static string BlobName(string pipelineId, int round) =>
        CheckpointLayout.Blob(pipelineId, CheckpointLayout.StageFolder(round), FileName);

    /// <summary>What history keeps of <paramref name="full"/>: everything but the per-member lists, and where the rest is.</summary>
    public static RoundResult Summary(RoundResult full, string blobName)
    {
        ArgumentNullException.ThrowIfNull(full);
        return full with { Members = [], Missing = null, Variants = null, Interpolation = null, Generation = null, Details = blobName };
    }

    /// <summary>
    /// Stores <paramref name="full"/> (replacing an earlier copy: the same request summarizes to the same result, so a
    /// repeated activity writes the same blob) and returns its <see cref="Summary"/>.
    /// </summary>
    public static async Task<RoundResult> StoreAsync(SoupStorage storage, string pipelineId, RoundResult full, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(full);
        var name = BlobName(pipelineId, full.Round);
        await storage.Checkpoints.GetBlobClient(name).UploadAsync(
            BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(full with { Details = null }, Json)), overwrite: true, cancellationToken);
        return Summary(full, name);
    }

    /// <summary>
    /// <paramref name="round"/> in full: read from its <see cref="RoundResult.Details"/> blob, or itself when it is already
    /// full (results of runs before results were stored) or when the blob is gone (deleted by hand: the summary is what
    /// is left, and says where the rest was).
    /// </summary>
    public static async Task<RoundResult> LoadAsync(SoupStorage storage, RoundResult round, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(round);
        if (round.Details is not { } name)
            return round;

        try
        {
            var content = await storage.Checkpoints.GetBlobClient(name).DownloadContentAsync(cancellationToken);
            return JsonSerializer.Deserialize<RoundResult>(content.Value.Content, Json)
                ?? throw new InvalidDataException($"round result '{name}' is empty");
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return round;
        }
    }

    /// <summary><paramref name="result"/> with every round in full (<see cref="LoadAsync(SoupStorage, RoundResult, CancellationToken)"/>).</summary>
    public static async Task<PipelineResult?> LoadAsync(SoupStorage storage, PipelineResult? result, CancellationToken cancellationToken = default)
    {
        if (result is null || result.Rounds.All(r => r.Details is null))
            return result;

        var rounds = new RoundResult[result.Rounds.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, rounds.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (i, ct) => rounds[i] = await LoadAsync(storage, result.Rounds[i], ct));
        return result with { Rounds = rounds };
    }

    /// <summary><paramref name="view"/> with its result's rounds in full, and the report of its pairs job if it made preference pairs.</summary>
    public static async Task<PipelineStatusView> LoadAsync(SoupStorage storage, PipelineStatusView view, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(view);
        return view.Result is null
            ? view
            : view with { Result = await LoadAsync(storage, view.Result, cancellationToken), Pairs = view.Pairs ?? await LoadPairsAsync(storage, view.Id, cancellationToken) };
    }

    /// <summary>The report of pipeline <paramref name="pipelineId"/>'s pairs job, or null when it made no pairs.</summary>
    public static async Task<PairsReport?> LoadPairsAsync(SoupStorage storage, string pipelineId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        try
        {
            var content = await storage.Checkpoints.GetBlobClient(CheckpointLayout.Blob(pipelineId, PairDatasets.Slot, CheckpointLayout.EvaluationFile)).DownloadContentAsync(cancellationToken);
            return JsonSerializer.Deserialize(content.Value.Content.ToStream(), SoupJson.Default.PairsReport);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }
}
