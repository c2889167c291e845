using Soup.Core.Jobs;
using Soup.Core.Storage;

namespace Soup.Core.Specs;

/// <summary>Turns a spec into the jobs of each stage. Pure and deterministic: safe to call from an orchestrator.</summary>
public static class JobPlanner
{
    /// <summary>The slot of the linear-probe job (in the init stage's folder).</summary>
    public const string ProbeSlot = CheckpointLayout.InitSlot + "/probe";

    /// <summary>
    /// The pretraining job that makes the shared init when the spec names no checkpoint. A pipeline that makes its
    /// preference pairs pretrains a language model on its corpus's training part instead (with the members'
    /// optimizer): the policy that samples the pairs and the reward models' backbone.
    /// </summary>
    public static TrainJob Pretrain(PipelineSpec spec, string pipelineId) => new()
    {
        PipelineId = pipelineId,
        Slot = CheckpointLayout.InitSlot,
        Model = spec.Model,
        SpecHash = SpecHash.Compute(spec),
        Data = spec.Preferences is { } preferences ? Corpus(spec, preferences.Corpus, preferences.Topics, DataParts.In) : TrainData(spec, spec.Data.TrainDomains),
        InitCheckpoint = null,
        Settings = new TrainSettings
        {
            Optimizer = spec.Preferences is not null ? spec.Members.Optimizer ?? Optimizers.Sgd : Optimizers.Sgd,
            Steps = spec.Init.PretrainSteps,
            BatchSize = spec.Members.BatchSize,
            LearningRate = spec.Init.LearningRate,
            Momentum = spec.Members.Momentum,
            WeightDecay = spec.Members.WeightDecay,
            Seed = MemberSeed(spec, 0, 0),
        },
    };

    /// <summary>
    /// The linear probe that makes the shared init from <paramref name="init"/> (the given or pretrained checkpoint):
    /// the head alone trained on the training data; null when the spec has no probe stage.
    /// </summary>
    public static TrainJob? LinearProbe(PipelineSpec spec, string pipelineId, string init) => spec.Init.LinearProbe is not { } probe ? null : new()
    {
        PipelineId = pipelineId,
        Slot = ProbeSlot,
        Model = spec.Model,
        SpecHash = SpecHash.Compute(spec),
        Data = TrainData(spec, spec.Data.TrainDomains),
        InitCheckpoint = init,
        Settings = new TrainSettings
        {
            Optimizer = probe.Optimizer ?? spec.Members.Optimizer ?? Optimizers.Sgd,
            Steps = probe.Steps,
            BatchSize = spec.Members.BatchSize,
            LearningRate = probe.LearningRate,
            Momentum = spec.Members.Momentum,
            Seed = MemberSeed(spec, 0, 1),
            LinearProbe = true,
        },
    };

    /// <summary>
    /// The job that makes the pipeline's preference pairs (<see cref="PreferencesSpec"/>): prompts from the held-out part
    /// of the corpus, completions sampled from <paramref name="init"/> (or the spec's policy) or taken from the corpus;
    /// null when the spec makes none.
    /// </summary>
    public static PairsJob? Pairs(PipelineSpec spec, string pipelineId, string? init) => spec.Preferences is not { } pr ? null : new()
    {
        PipelineId = pipelineId,
        Slot = PairDatasets.Slot,
        Model = spec.Model,
        SpecHash = SpecHash.Compute(spec),
        Corpus = Corpus(spec, pr.Corpus, pr.Topics, DataParts.Out),
        Policy = pr.Completions != PairCompletions.Policy ? null
            : pr.Policy ?? init ?? throw new PlanningException("the pairs are sampled from a policy, and there is none: give preferences.policy or an init"),
        Reward = pr.Reward,
        Noise = pr.Noise,
        TrainPairs = pr.TrainPairs,
        TestPairs = pr.TestPairs,
        PromptTokens = pr.PromptTokens,
        MaxNewTokens = pr.MaxNewTokens,
        Temperature = pr.Temperature,
        TopK = pr.TopK,
        TopP = pr.TopP,
        Seed = MemberSeed(spec, 0, PairsSeedIndex),
        Shifted = pr.Shifted is { } shifted ? Corpus(spec, shifted.Corpus ?? pr.Corpus, shifted.Topics, DataParts.All) : null,
        ShiftedPairs = pr.Shifted?.Pairs ?? 0,
    };

    /// <summary>The member index of the pairs job's seed in round 0 (after pretraining 0, probe 1 and auxiliaries 2…).</summary>
    private const int PairsSeedIndex = 999;

    /// <summary>Part of a text corpus, split into training and held-out documents as every job of the pipeline splits it.</summary>
    private static DataRef Corpus(PipelineSpec spec, string corpus, IReadOnlyList<string>? topics, string part) => new()
    {
        Dataset = corpus,
        Layout = DataLayouts.Text,
        Domains = topics,
        Part = part,
        HoldoutFraction = spec.Data.ValidationFraction,
        SplitSeed = spec.Seed,
    };

    /// <summary>The slot of auxiliary fine-tuning <paramref name="name"/>.</summary>
    public static string AuxiliarySlot(string name) => $"{CheckpointLayout.InitSlot}/aux-{name}";

    /// <summary>
    /// The auxiliary fine-tunings of Model Ratatouille, each from the shared init on its own data, with the members'
    /// optimizer, momentum, weight decay and dropout.
    /// </summary>
    public static IReadOnlyList<TrainJob> Auxiliary(PipelineSpec spec, string pipelineId, string init)
    {
        var hash = SpecHash.Compute(spec);
        var m = spec.Members;
        return [.. (spec.Auxiliary ?? []).Select((task, i) => new TrainJob
        {
            PipelineId = pipelineId,
            Slot = AuxiliarySlot(task.Name),
            Model = spec.Model,
            SpecHash = hash,
            Data = TrainData(spec, task.Domains ?? spec.Data.TrainDomains) with
            {
                Dataset = task.Dataset ?? spec.Data.Dataset,
                Layout = task.Layout ?? spec.Data.Layout,
                Limit = task.Limit ?? spec.Data.TrainLimit,
            },
            InitCheckpoint = init,
            Settings = new TrainSettings
            {
                Optimizer = m.Optimizer ?? Optimizers.Sgd,
                Steps = task.Steps ?? m.Steps,
                BatchSize = m.BatchSize,
                LearningRate = task.LearningRate ?? m.EffectiveLearningRates()[0],
                Momentum = m.Momentum,
                WeightDecay = m.WeightDecay,
                Dropout = m.Dropout ?? 0,
                Seed = MemberSeed(spec, 0, 2 + i),
            },
        })];
    }

    /// <summary>
    /// The fine-tuning jobs of a round (settings from <see cref="MemberPlanner"/>), starting from <paramref name="init"/>,
    /// or in round 1 from their auxiliary fine-tuning's checkpoint (<paramref name="auxiliary"/>: name → blob).
    /// </summary>
    public static IReadOnlyList<TrainJob> Members(
        PipelineSpec spec, string pipelineId, int round, string init, IReadOnlyDictionary<string, string>? auxiliary = null)
    {
        var hash = SpecHash.Compute(spec);
        return [.. MemberPlanner.Plan(spec, round).Select(plan => new TrainJob
        {
            PipelineId = pipelineId,
            Slot = CheckpointLayout.MemberSlot(round, plan.Member),
            Model = spec.Model,
            SpecHash = hash,
            Data = TrainData(spec, plan.Domains),
            InitCheckpoint = plan.Auxiliary is { } aux
                ? auxiliary?.GetValueOrDefault(aux) ?? throw new PlanningException($"round {round}: member {plan.Member}'s auxiliary fine-tuning '{aux}' has no checkpoint")
                : init,
            Settings = plan.Settings,
            RewardModels = RewardModels(spec, plan.Settings.Rl?.RewardNames()),
        })];
    }

    /// <summary>
    /// The MORL baselines of a round (<see cref="InterpolationSpec.Morl"/>): for each λ, member <c>from</c>'s job (its
    /// settings, seed, data and init) with the reward (1 − λ)·R_from + λ·R_to, terms of the same reward summed.
    /// </summary>
    public static IReadOnlyList<TrainJob> Baselines(
        PipelineSpec spec, string pipelineId, int round, string init, IReadOnlyDictionary<string, string>? auxiliary = null)
    {
        if (spec.Soup?.Interpolation is not { Morl: { Count: > 0 } morl } line)
            return [];
        var members = Members(spec, pipelineId, round, init, auxiliary);
        var (start, end) = (members[line.From], members[line.To]);
        return [.. morl.Select((lambda, k) =>
        {
            var terms = new List<RewardTerm>();
            foreach (var (term, scale) in (start.Settings.Rl?.Rewards ?? []).Select(t => (t, 1 - lambda)).Concat((end.Settings.Rl?.Rewards ?? []).Select(t => (t, lambda))))
            {
                var i = terms.FindIndex(x => x.Reward == term.Reward);
                if (i < 0)
                    terms.Add(new RewardTerm { Reward = term.Reward, Weight = scale * term.Weight });
                else
                    terms[i] = terms[i] with { Weight = terms[i].Weight + (scale * term.Weight) };
            }

            var rl = start.Settings.Rl! with { Rewards = terms };
            return start with
            {
                Slot = CheckpointLayout.MorlSlot(round, k),
                Settings = start.Settings with { Rl = rl },
                RewardModels = RewardModels(spec, rl.RewardNames()),
            };
        })];
    }

    /// <summary>
    /// The spec's reward models that <paramref name="rewards"/> name, each with its model (the pipeline's when it names
    /// none); null when they name none.
    /// </summary>
    public static IReadOnlyList<RewardModel>? RewardModels(PipelineSpec spec, IEnumerable<string>? rewards)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var named = (rewards ?? []).ToHashSet(StringComparer.Ordinal);
        var used = (spec.RewardModels ?? []).Where(m => named.Contains(m.Name)).Select(m => m with { Model = m.Model ?? spec.Model }).ToList();
        return used.Count > 0 ? used : null;
    }

    /// <summary>
    /// The evaluation job of a round: every member and the soup (and any other checkpoints after them)
    /// on every split of the spec, the primary split first, with the members' ensemble and diversity, and the midpoint
    /// connectivity of the first two members.
    /// </summary>
    /// <param name="members">How many of the first checkpoints are members (their ensemble and pair are scored); null: all but the last.</param>
    /// <param name="reference">The round's init: what the generation evaluation measures the KL to (null: no KL).</param>
    public static EvaluateJob Evaluation(PipelineSpec spec, string pipelineId, int round, IReadOnlyList<string> checkpoints, int? members = null, string? reference = null)
    {
        var count = members ?? checkpoints.Count - 1;
        var splits = Splits(spec).OrderBy(s => s.Name == spec.Data.EvalSplit ? 0 : 1).Select(s => new EvaluationSplit(s.Name, s.Data)).ToList();
        return new EvaluateJob
        {
            PipelineId = pipelineId,
            Slot = CheckpointLayout.EvaluationSlot(round),
            Model = spec.Model,
            SpecHash = SpecHash.Compute(spec),
            Checkpoints = checkpoints,
            Splits = splits,
            Ensemble = count >= 2 ? [.. Enumerable.Range(0, count)] : null,
            Connectivity = count >= 2 ? [new CheckpointPair(0, 1)] : null,
            Generation = spec.Evaluation?.Generation is { } g
                ? Generation(spec, g, g.Dataset is { } prompts ? new DataRef { Dataset = prompts, Layout = DataLayouts.Text, Part = DataParts.All } : splits[0].Data, checkpoints.Count, reference, spec.Seed)
                : null,
        };
    }

    /// <summary>The generation plan of an evaluation: every checkpoint sampled, prompts from the primary split's documents or the prompts file.</summary>
    private static GenerationPlan Generation(PipelineSpec spec, GenerationSpec g, DataRef prompts, int checkpoints, string? reference, int seed) => new()
    {
        Checkpoints = [.. Enumerable.Range(0, checkpoints)],
        Prompts = prompts,
        PromptCount = g.Prompts,
        PromptTokens = g.PromptTokens,
        WholeDocuments = g.Dataset is not null,
        MaxNewTokens = g.MaxNewTokens,
        Temperature = g.Temperature,
        TopK = g.TopK,
        TopP = g.TopP,
        Rewards = g.Rewards ?? [],
        RewardModels = RewardModels(spec, g.Rewards),
        Reference = reference,
        Keep = g.Keep,
        Seed = seed,
    };

    /// <summary>
    /// The jobs a dispatch request stands for, planned from the stored spec: the stage's jobs (only those of
    /// <see cref="DispatchRequest.Slots"/>, when given), each carrying the stage's silence bound. The same request plans
    /// the same jobs, so a repeated dispatch sends the same job ids.
    /// </summary>
    public static IReadOnlyList<Job> Plan(PipelineSpec spec, DispatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(request);
        var id = request.PipelineId;
        string Init() => request.Init ?? throw new ArgumentException($"a '{request.Stage}' dispatch needs the checkpoint its jobs start from");
        IReadOnlyList<Job> jobs = request.Stage switch
        {
            JobStages.Pretrain => [Pretrain(spec, id)],
            JobStages.Probe => [LinearProbe(spec, id, Init()) ?? throw new PlanningException("the spec has no linear probe stage")],
            JobStages.Pairs => [Pairs(spec, id, request.Init) ?? throw new PlanningException("the spec makes no preference pairs")],
            JobStages.Auxiliary => [.. Auxiliary(spec, id, Init())],
            JobStages.Members => [.. Members(spec, id, request.Round, Init(), request.Auxiliary), .. Baselines(spec, id, request.Round, Init(), request.Auxiliary)],
            JobStages.Evaluation when request.Evaluation is { } plan =>
                [Evaluation(spec, id, request.Round, plan.Checkpoints, plan.Members, plan.Reference ?? request.Init) with { Slot = EvaluationSlot(request.Round, plan.Name), Greedy = plan.Greedy }],
            _ => throw new ArgumentException($"'{request.Stage}' is not a stage whose jobs can be planned (or an evaluation without its plan)"),
        };
        if (request.Slots is { } slots)
        {
            var wanted = slots.ToHashSet(StringComparer.Ordinal);
            jobs = [.. jobs.Where(j => wanted.Contains(j.Slot))];
        }

        if (request.DataVersions is { Count: > 0 } versions)
            jobs = [.. jobs.Select(j => Pin(j, versions))];
        return request.HeartbeatTimeout is { } bound ? [.. jobs.Select(j => j with { HeartbeatTimeout = bound })] : jobs;
    }

    /// <summary>The job with every dataset it reads pinned to its version in <paramref name="versions"/> (when listed).</summary>
    private static Job Pin(Job job, IReadOnlyDictionary<string, string> versions)
    {
        DataRef With(DataRef data) => versions.TryGetValue(data.Dataset, out var version) ? data with { Version = version } : data;
        return job switch
        {
            TrainJob train => train with { Data = With(train.Data) },
            PairsJob pairs => pairs with { Corpus = With(pairs.Corpus), Shifted = pairs.Shifted is { } shifted ? With(shifted) : null },
            EvaluateJob evaluate => evaluate with
            {
                Splits = [.. evaluate.Splits.Select(s => s with { Data = With(s.Data) })],
                Generation = evaluate.Generation is { } g ? g with { Prompts = With(g.Prompts) } : null,
            },
            _ => job,
        };
    }

    /// <summary>
    /// The slots of a stage's jobs, in job order, from the spec's outline (the number of jobs never depends on the
    /// per-member lists the outline leaves out).
    /// </summary>
    public static IReadOnlyList<string> Slots(PipelineSpec outline, string stage, int round, EvaluationPlan? evaluation = null) => stage switch
    {
        JobStages.Pretrain => [CheckpointLayout.InitSlot],
        JobStages.Probe => [ProbeSlot],
        JobStages.Pairs => [PairDatasets.Slot],
        JobStages.Auxiliary => [.. (outline.Auxiliary ?? []).Select(t => AuxiliarySlot(t.Name))],
        JobStages.Members =>
        [
            .. Enumerable.Range(0, outline.Members.Count).Select(m => CheckpointLayout.MemberSlot(round, m)),
            .. Enumerable.Range(0, outline.Soup?.Interpolation?.Morl?.Count ?? 0).Select(k => CheckpointLayout.MorlSlot(round, k)),
        ],
        JobStages.Evaluation => [EvaluationSlot(round, evaluation?.Name)],
        _ => throw new ArgumentException($"'{stage}' is not a stage"),
    };

    private static string EvaluationSlot(int round, string? name) =>
        name is null ? CheckpointLayout.EvaluationSlot(round) : CheckpointLayout.EvaluationSlot(round, name);

    /// <summary>Every evaluation split of the spec (<see cref="SplitPlanner.Splits"/>).</summary>
    public static IReadOnlyList<PlannedSplit> Splits(PipelineSpec spec) => SplitPlanner.Splits(spec);

    /// <summary>A seed distinct for every (round, member) of a pipeline; round 0 is the init stage.</summary>
    public static int MemberSeed(PipelineSpec spec, int round, int member) => MemberPlanner.MemberSeed(spec, round, member);

    private static DataRef TrainData(PipelineSpec spec, IReadOnlyList<string>? domains) =>
        SplitPlanner.Data(spec, domains, DataParts.In, spec.Data.TrainLimit);
}
