using System.Globalization;
using System.Text.Json;
using System.Security.Cryptography;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Soup.Core;
using Soup.Merging.Checkpoints;
using Soup.Core.Jobs;
using Soup.Merging;
using Soup.Merging.Engine;
using Soup.Core.Storage;
using Soup.Training;
using Soup.Training.Checkpoints;
using Soup.Training.Data;
using Soup.Training.Evaluation;
using Soup.Training.FineTuning;
using Soup.Training.Models;
using Soup.Training.Text;

namespace Soup.Jobs;

/// <summary>
/// Runs one job: reads its data and checkpoints, trains or evaluates, and writes the result to the job's slot with a
/// conditional create, so a redelivered job that already finished writes nothing new. A training job resumes from its
/// slot's resumption checkpoint when an earlier delivery left one. Input that can never work (missing data, unknown
/// model or optimizer, a checkpoint that does not fit, settings out of range) throws <see cref="JobFailedException"/>
/// at once, before any training.
/// </summary>
public sealed partial class JobRunner(SoupStorage storage, DatasetResolver datasets, IOptions<WorkerOptions> options, ILogger<JobRunner> logger)
{
    /// <summary>True when <paramref name="job"/>'s output is already written (retried through a storage outage).</summary>
    public Task<bool> IsDoneAsync(Job job, CancellationToken cancellationToken) =>
        Retry(async c => (bool)await storage.Checkpoints.GetBlobClient(CheckpointLayout.OutputBlob(job)).ExistsAsync(c), "output check", job, cancellationToken);

    /// <summary>
    /// Runs <paramref name="job"/> outside the queue (its heartbeat names no message); throws
    /// <see cref="JobFailedException"/> when it can never succeed.
    /// </summary>
    public async Task RunAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await using var heartbeat = await JobHeartbeat.StartAsync(storage, job, "", options.Value.WorkerName, options.Value.HeartbeatInterval, logger);
        await RunAsync(job, heartbeat, cancellationToken);
    }

    /// <summary>Runs <paramref name="job"/>; throws <see cref="JobFailedException"/> when it can never succeed.</summary>
    internal async Task RunAsync(Job job, JobHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var output = CheckpointLayout.OutputBlob(job);
        if (await IsDoneAsync(job, cancellationToken))
        {
            LogAlreadyDone(logger, job.JobId);
            if (job is PairsJob done)
                await CleanUpPairsAsync(done);
            return;
        }

        LogStarting(logger, job.JobId);
        switch (job)
        {
            case TrainJob train:
                await TrainAsync(train, output, heartbeat, cancellationToken);
                break;
            case EvaluateJob evaluate:
                await EvaluateAsync(evaluate, output, cancellationToken);
                break;
            case PairsJob pairs:
                await PairsAsync(pairs, output, heartbeat, cancellationToken);
                break;
            default:
                throw new JobFailedException($"job '{job.JobId}' has an unknown kind {job.GetType().Name}");
        }
    }

    /// <summary>
    /// Writes the failure record the pipeline sees (once: a second record for the same job is not written), retried
    /// through a storage outage.
    /// </summary>
    public Task RecordFailureAsync(Job job, string reason, CancellationToken cancellationToken) =>
        Retry(
            c => storage.TryCreateJsonAsync(
                CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.FailureFile),
                new FailureRecord(job.JobId, reason, options.Value.WorkerName, DateTimeOffset.UtcNow),
                SoupJson.Default.FailureRecord,
                LandingStamp.Of(job),
                c),
            "failure record",
            job,
            cancellationToken);

    /// <summary>A storage call retried through an outage (<see cref="WorkerOptions.StorageRetryLimit"/>).</summary>
    private Task<T> Retry<T>(Func<CancellationToken, Task<T>> call, string what, Job job, CancellationToken cancellationToken) =>
        options.Value.StorageRetry.RunAsync(call, (ex, delay) => LogStorageRetry(logger, job.JobId, what, delay, ex), cancellationToken);

    private async Task TrainAsync(TrainJob job, string output, JobHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        if (job.Settings.Rl is { } rl)
        {
            await ReinforceAsync(job, rl, output, heartbeat, cancellationToken);
            return;
        }

        var (objective, dataVersion) = await LoadVersionedAsync(
            job, job.Data, "training data", folder => TrainingTasks.Objective(job.Data, folder, job.Model, job.Settings), cancellationToken);
        using var disposeObjective = objective;
        var fineTune = new FineTuneOptions(job.Model, job.Settings);
        try
        {
            fineTune.Validate(objective);
        }
        catch (ArgumentException ex)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }

        (IReadOnlyList<TensorData> Tensors, string Sha256, IReadOnlyDictionary<string, string> Metadata)? init = job.InitCheckpoint is null
            ? null
            : await ReadCheckpointAsync(job.InitCheckpoint, "init checkpoint", cancellationToken);
        var checkpoints = new JobCheckpoints(storage, job, heartbeat, options.Value.ResumeInterval, logger);
        var resume = await Retry(checkpoints.LoadAsync, "resumption state", job, cancellationToken);
        if (resume is not null)
            LogResuming(logger, job.JobId, resume.Step);

        FineTuneResult result;
        try
        {
            result = await Task.Run(() => FineTuner.Run(fineTune, objective, init?.Tensors, resume, checkpoints, cancellationToken), cancellationToken);
        }
        catch (TrainingDivergedException ex)
        {
            throw new JobFailedException(ex.Message, ex);
        }
        catch (InvalidDataException ex)
        {
            throw new JobFailedException($"init checkpoint '{job.InitCheckpoint}' does not fit model '{job.Model}': {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }

        var metadata = CheckpointMetadata(job, init?.Sha256, resume?.Step ?? 0, result);
        if (objective.Truncated > 0)
        {
            metadata["truncated_examples"] = Invariant(objective.Truncated); // cut from the left to fit the context
            LogTruncated(logger, job.JobId, objective.Truncated);
        }

        await WriteTrainedAsync(job, output, result, metadata, dataVersion, checkpoints);
    }

    /// <summary>
    /// A member fine-tuned by reinforcement learning (<see cref="RlFineTuner"/>): prompts cut from the job's text data,
    /// the policy starting from the job's init (a language model), the reward a weighted sum of gold rewards;
    /// resumable from the same resumption blob as supervised training.
    /// </summary>
    private async Task ReinforceAsync(TrainJob job, RlTraining rl, string output, JobHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        if (job.Data.Layout != DataLayouts.Text)
            throw new JobFailedException($"job '{job.JobId}': reinforcement learning needs text prompts (layout 'text'), not layout '{job.Data.Layout}'");
        if (job.InitCheckpoint is null)
            throw new JobFailedException($"job '{job.JobId}': reinforcement learning fine-tunes a policy: the job has no init checkpoint");
        var (prompts, dataVersion) = await LoadVersionedAsync(
            job, job.Data, "RL prompts", folder => GenerationEvaluation.Prompts(TextDatasets.Documents(job.Data, folder), tokenizer, int.MaxValue, rl.PromptTokens), cancellationToken);
        Gpt2Config config;
        RlSettings settings;
        try
        {
            config = LanguageModelling.Config(job.Model);
            var fineTune = new FineTuneOptions(job.Model, job.Settings);
            settings = new RlSettings(
                job.Settings.Steps, rl.PromptsPerStep, job.Settings.LearningRate, job.Settings.Seed,
                new RlooOptions(rl.Samples, rl.KlCoefficient, new SamplingOptions(rl.MaxNewTokens), rl.AnchorDecay), fineTune.CheckpointInterval);
            settings.Rloo.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }

        // The reward models the reward names, read and checked against what the policy generates before any step.
        using var rewardModels = await LoadRewardModelsAsync(
            job, job.RewardModels ?? [], config, Math.Min(rl.PromptTokens, config.Context - rl.MaxNewTokens) + rl.MaxNewTokens, cancellationToken);
        TextReward reward;
        IReadOnlyList<TextReward> track;
        try
        {
            reward = TextReward.Sum([.. (rl.Rewards ?? []).Select(t => (TextReward.Named(t.Reward, rewardModels.ByName), t.Weight))]);
            track = [.. (rl.Track ?? []).Select(name => TextReward.Named(name, rewardModels.ByName))];
        }
        catch (ArgumentException ex)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }

        var init = await ReadCheckpointAsync(job.InitCheckpoint, "init checkpoint", cancellationToken);
        var checkpoints = new JobCheckpoints(storage, job, heartbeat, options.Value.ResumeInterval, logger);
        var resume = await Retry(checkpoints.LoadAsync, "resumption state", job, cancellationToken);
        if (resume is not null)
            LogResuming(logger, job.JobId, resume.Step);

        RlResult result;
        try
        {
            result = await Task.Run(() => RlFineTuner.Run(config, init.Tensors, null, prompts, reward, settings, resume, checkpoints, cancellationToken, track), cancellationToken);
        }
        catch (TrainingDivergedException ex)
        {
            throw new JobFailedException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }

        var last = result.History.Count > 0 ? result.History[^1] : null;
        var trained = new FineTuneResult(result.Weights, -(last?.Objective ?? double.NaN), double.NaN, job.Settings.Steps, result.TokensPerSecond, "tokens");
        var metadata = CheckpointMetadata(job, init.Sha256, resume?.Step ?? 0, trained);
        metadata["rl_reward"] = reward.Name;
        metadata["rl_final_reward"] = Invariant(last?.Reward ?? double.NaN);
        metadata["rl_final_kl"] = Invariant(last?.Kl ?? double.NaN);
        metadata[RlCurve.MetadataKey] = JsonSerializer.Serialize(
            RlCurve.Of(reward.Name, [.. track.Select(t => t.Name)], [.. result.History.Select(h => new RlCurvePoint(h.Step, h.Reward, h.Kl, h.Tracked))]), SoupJson.Compact.RlCurve);
        await WriteTrainedAsync(job, output, trained, metadata, dataVersion, checkpoints);
    }

    /// <summary>
    /// Loads the reward models a job names (<see cref="RewardModelSet"/>), each checkpoint read through storage outages;
    /// one that is missing, is no reward model, does not fit its size or cannot read the policy's sequences of
    /// <paramref name="tokens"/> tokens fails the job (no retry: another delivery would find the same).
    /// </summary>
    private async Task<RewardModelSet> LoadRewardModelsAsync(Job job, IReadOnlyList<RewardModel> models, Gpt2Config policy, int tokens, CancellationToken cancellationToken)
    {
        try
        {
            return await RewardModelSet.LoadAsync(
                models, job.Model, policy, tokens, async (blob, ct) => (await ReadCheckpointAsync(blob, "reward model checkpoint", ct)).Tensors, cancellationToken);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }
    }

    /// <summary>Writes a trained member's weights with their metadata (once, through storage outages), then removes its resumption state.</summary>
    private async Task WriteTrainedAsync(
        TrainJob job, string output, FineTuneResult result, Dictionary<string, string> metadata, string? dataVersion, JobCheckpoints checkpoints)
    {
        if (dataVersion is not null)
            metadata["dataset_version"] = dataVersion; // the listing it trained on (DatasetFingerprint), as scheduled runs record it
        using var stream = new MemoryStream();
        Safetensors.Write(stream, result.Weights, metadata);
        var bytes = stream.GetBuffer().AsMemory(0, (int)stream.Length);

        // The output must not be lost to a storage blip after hours of training: retried through an outage. Not
        // cancellable by a shutdown either: the work is done, writing it is quicker than redoing it.
        await Retry(c => storage.TryCreateBlobAsync(output, new MemoryStream(bytes.ToArray(), writable: false), LandingStamp.Of(job), c), "output", job, CancellationToken.None);
        try
        {
            await checkpoints.CleanUpAsync(CancellationToken.None);
        }
        catch (Exception ex) when (StorageRetry.IsTransient(ex) || ex is RequestFailedException)
        {
            LogCleanUpFailed(logger, job.JobId, ex); // a stale resume.safetensors next to a finished job is harmless
        }
        LogTrained(logger, job.JobId, result.FinalLoss, result.PerSecond, result.Unit);
    }

    private async Task EvaluateAsync(EvaluateJob job, string output, CancellationToken cancellationToken)
    {
        var splits = new List<NamedSplit>();
        try
        {
            foreach (var split in job.Splits)
            {
                var (data, _) = await LoadVersionedAsync(
                    job, split.Data, $"split '{split.Name}'", folder => TrainingTasks.EvaluationData(split.Data, folder, job.Model), cancellationToken);
                splits.Add(new NamedSplit(split.Name, data));
            }

            // Checkpoints are read one at a time as the evaluation reaches them (memory does not grow with their number).
            var checkpoints = new CheckpointLoader(
                job.Checkpoints, async (blob, ct) => (await ReadCheckpointAsync(blob, "checkpoint to evaluate", ct)).Tensors);
            EvaluationReport report;
            try
            {
                report = await Task.Run(
                    () => Evaluator.EvaluateAsync(job.Model, checkpoints, splits, job.Ensemble, job.Connectivity, cancellationToken: cancellationToken), cancellationToken);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidDataException)
            {
                throw new JobFailedException($"evaluation '{job.JobId}': {ex.Message}", ex);
            }

            if (job.Greedy is { } greedy)
                report = await GreedyAsync(job, greedy, splits, report, cancellationToken);
            if (job.Generation is { } generation)
                report = report with { Generation = await GenerateAsync(job, generation, cancellationToken) };

            await Retry(c => storage.TryCreateJsonAsync(output, report, SoupJson.Default.EvaluationReport, LandingStamp.Of(job), c), "output", job, CancellationToken.None);
        }
        finally
        {
            foreach (var split in splits)
                (split.Data as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// Makes the pipeline's preference pairs (<see cref="PreferenceGeneration"/>): prompts from the corpus's documents,
    /// two completions each sampled from the policy (or the corpus's real continuations), labelled by the gold reward,
    /// a fraction of the training labels flipped; shifted test pairs the same way from the shifted documents. The draw
    /// is stored once (<see cref="PairsDraw"/>) before anything else; the datasets (<see cref="PairDatasets"/>, each
    /// created once) and then the report that completes the job are written from the draw that was stored, so every
    /// copy of the job writes the same datasets, and a redelivery that finds a draw does not sample again.
    /// </summary>
    private async Task PairsAsync(PairsJob job, string output, JobHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        var drawBlob = PairDatasets.DrawBlob(job.PipelineId);
        var draw = await Retry(c => ReadDrawAsync(drawBlob, c), "pairs draw", job, cancellationToken);
        if (draw is not null)
        {
            LogPairsDrawFound(logger, job.JobId, draw.JobId, drawBlob);
        }
        else
        {
            var made = await DrawPairsAsync(job, heartbeat, cancellationToken);
            var stored = await Retry(c => storage.TryCreateJsonAsync(drawBlob, made, SoupJson.Default.PairsDraw, c), "pairs draw", job, CancellationToken.None);

            // Another copy stored its draw first: write that one. (Gone again only once that copy's report landed,
            // and then every dataset is there already, so this copy's writes below change nothing.)
            draw = stored ? made : await Retry(c => ReadDrawAsync(drawBlob, c), "pairs draw", job, CancellationToken.None) ?? made;
        }

        foreach (var dataset in PairDatasets.All)
        {
            if (draw.Datasets.TryGetValue(dataset, out var text))
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(text);
                await Retry(c => storage.TryCreateBlobAsync(PairDatasets.Blob(job.PipelineId, dataset), new MemoryStream(bytes, writable: false), c), dataset, job, CancellationToken.None);
            }
        }

        await Retry(c => storage.TryCreateJsonAsync(output, draw.Report, SoupJson.Default.PairsReport, LandingStamp.Of(job), c), "output", job, CancellationToken.None);
        LogPairs(logger, job.JobId, draw.Report.Train, draw.Report.Flipped, draw.Report.Test, draw.Report.Shifted);
        await CleanUpPairsAsync(job);
    }

    /// <summary>
    /// Deletes a finished pairs job's draw and sampling state (also when a copy finds the job done: the copy that
    /// finished may have stopped before it got to this). Best effort: either only takes room, and retention deletes it.
    /// </summary>
    private async Task CleanUpPairsAsync(PairsJob job)
    {
        foreach (var blob in (string[])[PairDatasets.DrawBlob(job.PipelineId), CheckpointLayout.Blob(job.PipelineId, job.Slot, CheckpointLayout.SamplingStateFile)])
        {
            try
            {
                await storage.Checkpoints.GetBlobClient(blob).DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
            }
            catch (Exception ex) when (StorageRetry.IsTransient(ex) || ex is RequestFailedException)
            {
                LogPairsDrawLeft(logger, job.JobId, blob, ex);
            }
        }
    }

    /// <summary>The stored draw at <paramref name="blob"/>, or null when there is none.</summary>
    /// <exception cref="JobFailedException">The draw is not JSON, or lacks its report or one of the datasets every draw has.</exception>
    private async Task<PairsDraw?> ReadDrawAsync(string blob, CancellationToken cancellationToken)
    {
        PairsDraw draw;
        try
        {
            draw = await storage.ReadJsonAsync(blob, SoupJson.Default.PairsDraw, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            throw new JobFailedException($"the pairs draw '{blob}' cannot be read ({ex.Message}); delete it to sample again", ex);
        }

        var missing = draw.Report is null ? "its report"
            : draw.Datasets is null ? "its datasets"
            : ((string[])[PairDatasets.Train, PairDatasets.Clean, PairDatasets.Test]).FirstOrDefault(d => !draw.Datasets.ContainsKey(d));
        return missing is null ? draw : throw new JobFailedException($"the pairs draw '{blob}' lacks {missing}; delete it to sample again");
    }

    /// <summary>Samples (or pairs) the job's preference pairs: the draw its datasets and report are written from.</summary>
    private async Task<PairsDraw> DrawPairsAsync(PairsJob job, JobHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        const string PairsUnit = "pairs";
        var tokenizer = TextTokenizer.Get(TextTokenizer.Gpt2Name);
        GoldReward reward;
        PairGenerationOptions generation;
        try
        {
            reward = GoldRewards.Get(job.Reward);
            var sampling = new SamplingOptions(job.MaxNewTokens, job.Temperature, job.TopK, job.TopP);
            sampling.Validate();
            generation = new PairGenerationOptions(job.TrainPairs, job.TestPairs, sampling, job.Noise, job.Seed);
        }
        catch (ArgumentException ex)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }

        var (documents, _) = await LoadVersionedAsync(job, job.Corpus, "preference corpus", folder => TextDatasets.Documents(job.Corpus, folder), cancellationToken);
        var shiftedDocuments = job.Shifted is { } shiftedData
            ? (await LoadVersionedAsync(job, shiftedData, "shifted corpus", folder => TextDatasets.Documents(shiftedData, folder), cancellationToken)).Data
            : null;

        // Shifted pairs: test pairs only (gold labels). Real continuations: their own pairing.
        var shiftedOptions = generation with { TrainPairs = Math.Max(1, job.ShiftedPairs), TestPairs = 0, NoiseFraction = 0, Seed = unchecked(job.Seed + 1) };
        var policy = job.Policy is { } blob ? await ReadCheckpointAsync(blob, "policy checkpoint", cancellationToken) : default;

        // Progress: pairs made of all asked for (training, test, then shifted), in the heartbeat like a trainer's steps.
        var total = job.TrainPairs + job.TestPairs + (shiftedDocuments is null ? 0 : shiftedOptions.TrainPairs);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IProgress<PairProgress> Progress(bool shifted) => new PairsProgress(p =>
        {
            var made = p.Made + (shifted || p.Part == "shifted" ? job.TrainPairs + job.TestPairs : p.Part == "training" ? 0 : job.TrainPairs);
            heartbeat.Report(made, total, 0, made / Math.Max(clock.Elapsed.TotalSeconds, 1e-3), PairsUnit); // no loss: JSON has no NaN
        });

        // Sampling can take hours on a GPU: its state is saved (at most once per ResumeInterval, and when the job is
        // stopped) and a redelivery samples on from it.
        var checkpoints = new PairsCheckpoints(storage, job, options.Value.ResumeInterval, logger);
        var resume = policy.Tensors is null ? null : await Retry(checkpoints.LoadAsync, "sampling state", job, cancellationToken);
        GeneratedPairs made;
        try
        {
            made = await Task.Run(() =>
            {
                if (policy.Tensors is null)
                {
                    var main = PreferenceGeneration.FromCorpus(documents, job.PromptTokens, tokenizer, reward, generation, Progress(false));
                    if (shiftedDocuments is null)
                        return main;
                    var other = PreferenceGeneration.FromCorpus(shiftedDocuments, job.PromptTokens, tokenizer, reward, shiftedOptions, Progress(true));
                    return main with
                    {
                        Shifted = other.TrainClean, Ties = main.Ties + other.Ties, Empty = main.Empty + other.Empty,
                        PromptsUsed = main.PromptsUsed + other.PromptsUsed, TruncatedPrompts = main.TruncatedPrompts + other.TruncatedPrompts,
                    };
                }

                using var model = new Gpt2LanguageModel(LanguageModelling.Config(job.Model));
                Gpt2Checkpoint.Load(model, policy.Tensors, job.Policy!);
                TorchSharp.ModuleExtensionMethods.to(model, TorchDevice.Preferred());
                return PreferenceGeneration.Generate(
                    model, GenerationEvaluation.Prompts(documents, tokenizer, int.MaxValue, job.PromptTokens), tokenizer, reward,
                    generation with { ShiftedPairs = shiftedDocuments is null ? 0 : job.ShiftedPairs }, Progress(false),
                    shiftedDocuments is null ? null : GenerationEvaluation.Prompts(shiftedDocuments, tokenizer, int.MaxValue, job.PromptTokens),
                    resume, checkpoints, cancellationToken);
            }, CancellationToken.None);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException)
        {
            throw new JobFailedException($"job '{job.JobId}': {ex.Message}", ex);
        }

        var shiftedMade = made.Shifted;
        var datasets = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [PairDatasets.Train] = PreferencePairs.ToText(made.Train),
            [PairDatasets.Clean] = PreferencePairs.ToText(made.TrainClean),
            [PairDatasets.Test] = PreferencePairs.ToText(made.Test),
        };
        if (shiftedMade is not null)
            datasets[PairDatasets.Shifted] = PreferencePairs.ToText(shiftedMade);
        var report = new PairsReport(
            job.Reward, job.Policy is null ? "corpus" : "policy", job.Policy, made.Train.Count, made.Flipped, made.Test.Count, shiftedMade?.Count ?? 0,
            made.Ties, made.Empty, made.PromptsUsed, made.TruncatedPrompts, documents.Count);
        return new PairsDraw(job.JobId, report, datasets);
    }

    /// <summary>Passes each report on at once, on the reporting thread (<see cref="Progress{T}"/> would post it to the thread pool).</summary>
    private sealed class PairsProgress(Action<PairProgress> report) : IProgress<PairProgress>
    {
        public void Report(PairProgress value) => report(value);
    }

    /// <summary>
    /// Samples from the plan's language models and scores what they generate (<see cref="GenerationEvaluation"/>): the
    /// prompts read like any dataset, the checkpoints and the reference one at a time.
    /// </summary>
    private async Task<IReadOnlyList<GenerationScore>> GenerateAsync(EvaluateJob job, GenerationPlan plan, CancellationToken cancellationToken)
    {
        var (documents, _) = await LoadVersionedAsync(job, plan.Prompts, "generation prompts", folder => TextDatasets.Documents(plan.Prompts, folder), cancellationToken);
        try
        {
            return await GenerationEvaluation.RunAsync(
                job.Model, plan, job.Checkpoints, documents,
                async (blob, ct) =>
                {
                    var (tensors, _, metadata) = await ReadCheckpointAsync(blob, "checkpoint to sample from", ct);
                    return new SafetensorsContent(tensors, metadata);
                },
                cancellationToken);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException)
        {
            throw new JobFailedException($"evaluation '{job.JobId}', generation: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Builds the greedy soup of the plan's members from the scores just computed (<see cref="GreedySoup"/>: candidates
    /// merged and scored in memory on the plan's split), writes it next to the round's soup (once: a redelivered job
    /// finds it written), scores it on every split, and adds it to the report.
    /// </summary>
    private async Task<EvaluationReport> GreedyAsync(EvaluateJob job, GreedySoupPlan plan, IReadOnlyList<NamedSplit> splits, EvaluationReport report, CancellationToken cancellationToken)
    {
        var split = splits.FirstOrDefault(s => s.Name == plan.Split)
            ?? throw new JobFailedException($"evaluation '{job.JobId}': greedy.split '{plan.Split}' is not one of the job's splits ({string.Join(", ", splits.Select(s => s.Name))})");
        if (plan.Members is not { Count: > 0 } chosen || chosen.Any(i => i < 0 || i >= job.Checkpoints.Count) || chosen.Distinct().Count() != chosen.Count)
            throw new JobFailedException($"evaluation '{job.JobId}': greedy.members must be distinct indices into checkpoints (0 to {job.Checkpoints.Count - 1})");

        var accuracy = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var score in report.Scores.Where(s => s.Split == plan.Split))
            accuracy[score.Checkpoint] = score.Accuracy;
        var members = chosen.Select(i => (job.Checkpoints[i], accuracy[job.Checkpoints[i]])).ToList();
        GreedySoupBuild build;
        try
        {
            build = await GreedySoup.BuildAsync(
                members,
                plan.Merge,
                (name, c) => Retry(r => CheckpointSources.OpenBlobAsync(storage.Checkpoints, name, cancellationToken: r), "greedy soup read", job, c),
                plan.Base,
                (tensors, c) => Task.Run(() => Evaluator.Evaluate(job.Model, [tensors], split.Data)[0].Accuracy, c),
                plan.Metadata,
                cancellationToken);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException)
        {
            throw new JobFailedException($"evaluation '{job.JobId}': greedy soup: {ex.Message}", ex);
        }

        var checkpoint = build.Kept[0];
        var scores = report.Scores;
        if (build.Soup is { } file)
        {
            checkpoint = CheckpointLayout.GreedySoupBlob(job.PipelineId, job.Slot);
            await Retry(c => storage.TryCreateBlobAsync(checkpoint, new MemoryStream(file, writable: false), c), "greedy soup", job, CancellationToken.None);
            var soup = await Task.Run(
                () => Evaluator.Evaluate(job.Model, [new NamedCheckpoint(checkpoint, Safetensors.Read(file, checkpoint).Tensors)], splits, null, null), cancellationToken);
            scores = [.. scores, .. soup.Scores];
        }

        LogGreedy(logger, job.JobId, build.Kept.Count, members.Count);
        return report with { Scores = scores, Greedy = new GreedySoupOutcome(checkpoint, build.Kept, build.Trials) };
    }

    /// <summary>Resolves a job's dataset (checking the version the run pinned) and reads it with <paramref name="load"/>.</summary>
    private async Task<(T Data, string? Version)> LoadVersionedAsync<T>(Job job, DataRef data, string role, Func<string, T> load, CancellationToken cancellationToken)
    {
        try
        {
            var resolved = await datasets.ResolveVersionAsync(data.Dataset, job.PipelineId, cancellationToken);
            if (data.Version is { } pinned && resolved.Version != pinned)
            {
                throw new JobFailedException(
                    $"{role}: dataset '{data.Dataset}' changed since the run recorded it (recorded {pinned}, now {resolved.Version ?? "a folder with no version"}); the run reads only the version it recorded");
            }

            return (load(resolved.Folder), resolved.Version);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException)
        {
            throw new JobFailedException($"{role}: dataset '{data.Dataset}' cannot be used: {ex.Message}", ex);
        }
    }

    private async Task<(IReadOnlyList<TensorData> Tensors, string Sha256, IReadOnlyDictionary<string, string> Metadata)> ReadCheckpointAsync(string blobName, string role, CancellationToken cancellationToken)
    {
        BinaryData content;
        try
        {
            content = await options.Value.StorageRetry.RunAsync(
                async c => (await storage.Checkpoints.GetBlobClient(blobName).DownloadContentAsync(c)).Value.Content,
                (ex, delay) => LogStorageRetry(logger, blobName, role, delay, ex),
                cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new JobFailedException($"{role} '{blobName}' does not exist in container '{storage.Checkpoints.Name}'", ex);
        }

        try
        {
            var memory = content.ToMemory();
            var read = Safetensors.Read(memory, blobName);
            return (read.Tensors, Convert.ToHexStringLower(SHA256.HashData(memory.Span)), read.Metadata);
        }
        catch (InvalidDataException ex)
        {
            throw new JobFailedException($"{role} '{blobName}' is not a valid safetensors file: {ex.Message}", ex);
        }
    }

    private Dictionary<string, string> CheckpointMetadata(TrainJob job, string? initSha256, int resumedFrom, FineTuneResult result)
    {
        var s = job.Settings;
        return new Dictionary<string, string>
        {
            ["job_id"] = job.JobId,
            ["spec_hash"] = job.SpecHash,
            ["model"] = job.Model,
            ["dataset"] = job.Data.Dataset,
            ["layout"] = job.Data.Layout,
            ["domains"] = string.Join(",", job.Data.Domains ?? []),
            ["part"] = job.Data.Part,
            ["base_checkpoint"] = job.InitCheckpoint ?? "",
            ["base_checkpoint_sha256"] = initSha256 ?? "",
            ["optimizer"] = s.Optimizer,
            ["learning_rate"] = Invariant(s.LearningRate),
            ["momentum"] = Invariant(s.Momentum),
            ["weight_decay"] = Invariant(s.WeightDecay),
            ["dropout"] = Invariant(s.Dropout),
            ["batch_size"] = Invariant(s.BatchSize),
            ["steps"] = Invariant(result.Steps),
            ["seed"] = Invariant(s.Seed),
            ["linear_probe"] = s.LinearProbe ? "true" : "false",
            ["average"] = s.Average,
            ["average_start"] = Invariant(s.AverageStart),
            ["ema_decay"] = Invariant(s.EmaDecay),
            ["anchor_weight"] = Invariant(s.AnchorWeight),
            ["class_weights"] = string.Join(",", (s.ClassWeights ?? []).Select(Invariant)),
            ["resumed_from_step"] = Invariant(resumedFrom),
            ["final_train_loss"] = Invariant(result.FinalLoss),
            ["final_train_accuracy"] = Invariant(result.FinalTrainAccuracy),
            [$"{result.Unit}_per_second"] = Invariant(Math.Round(result.PerSecond, 1)),
            ["worker"] = options.Value.WorkerName,
        };
    }

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Job {JobId} already has its output; nothing to do")]
    private static partial void LogAlreadyDone(ILogger logger, string jobId);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Job {JobId} starting")]
    private static partial void LogStarting(ILogger logger, string jobId);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Job {JobId} resumes from its checkpoint at step {Step}")]
    private static partial void LogResuming(ILogger logger, string jobId, int step);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "Job {JobId}: storage call ({What}) failed; retrying in {Delay}")]
    private static partial void LogStorageRetry(ILogger logger, string jobId, string what, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "Job {JobId}: its resumption state could not be removed")]
    private static partial void LogCleanUpFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 409, Level = LogLevel.Warning, Message = "Job {JobId}: {Truncated} training examples were longer than the model's context and were cut from the left")]
    private static partial void LogTruncated(ILogger logger, string jobId, int truncated);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Job {JobId} trained: final loss {Loss:F4}, {PerSecond:F0} {Unit}/s")]
    private static partial void LogTrained(ILogger logger, string jobId, double loss, double perSecond, string unit);

    [LoggerMessage(EventId = 407, Level = LogLevel.Information, Message = "Job {JobId} made preference pairs: {Train} training ({Flipped} labels flipped), {Test} test, {Shifted} shifted")]
    private static partial void LogPairs(ILogger logger, string jobId, int train, int flipped, int test, int shifted);

    [LoggerMessage(EventId = 408, Level = LogLevel.Information, Message = "Job {JobId}: writing the pairs drawn by {DrawnBy} ({Blob}) instead of sampling again")]
    private static partial void LogPairsDrawFound(ILogger logger, string jobId, string drawnBy, string blob);

    [LoggerMessage(EventId = 429, Level = LogLevel.Warning, Message = "Job {JobId} is done but {Blob} could not be deleted; it only takes room, and retention deletes it")]
    private static partial void LogPairsDrawLeft(ILogger logger, string jobId, string blob, Exception exception);

    [LoggerMessage(EventId = 406, Level = LogLevel.Information, Message = "Job {JobId}: greedy soup kept {Kept} of {Members} members")]
    private static partial void LogGreedy(ILogger logger, string jobId, int kept, int members);
}
