using System.Globalization;
using Soup.Core.Specs;

namespace Soup.Orchestration;

/// <summary>
/// What one deployment lets one request start, read from the root of the configuration (app settings,
/// local.settings.json, environment) by the Functions app and the local engine. The spec's own limits
/// (<see cref="SpecLimits"/>) bound each field; these bound their product: a spec within every field's limit can still
/// ask for 256 members × 50 rounds × 10^6 steps.
/// </summary>
public sealed class PipelineLimits
{
    /// <summary>
    /// The most training steps one pipeline may plan, summed over every job it trains: pretraining, the linear probe,
    /// the auxiliary fine-tunings and every member of every round (default 5,000,000: 256 members × 2 rounds × 10,000
    /// steps fit). Re-dispatches of lost jobs are not counted: they resume from a checkpoint.
    /// </summary>
    public long MaxPipelineTrainingSteps { get; set; } = 5_000_000;

    /// <summary>
    /// The most checkpoints one pipeline may write (default 5,000): the init stage's, and per round its members, its
    /// soup, the greedy soup, the step toward the init and the interpolation points.
    /// </summary>
    public int MaxPipelineCheckpoints { get; set; } = 5_000;

    /// <summary>
    /// The most pipelines running (pending, running or suspended) at once in the task hub (default 20); a start beyond it
    /// is answered 429. Two starts at the same instant can both pass the check: the bound is exact up to concurrent starts.
    /// </summary>
    public int MaxRunningPipelines { get; set; } = 20;

    /// <summary>The largest value of each setting accepted.</summary>
    public const long MaxSetting = 1_000_000_000_000;

    /// <summary>The problem with the settings themselves, or null when they are usable.</summary>
    public string? SettingsProblem() =>
        MaxPipelineTrainingSteps is < 1 or > MaxSetting ? $"{nameof(MaxPipelineTrainingSteps)} must be from 1 to {MaxSetting}"
        : MaxPipelineCheckpoints < 1 ? $"{nameof(MaxPipelineCheckpoints)} must be at least 1"
        : MaxRunningPipelines < 1 ? $"{nameof(MaxRunningPipelines)} must be at least 1"
        : null;

    /// <summary>
    /// What this deployment refuses in a valid <paramref name="spec"/>: datasets outside <paramref name="datasetContainers"/>
    /// (<see cref="DatasetSources"/>), and planned work over these limits (one problem per limit, path <c>$</c>).
    /// </summary>
    public IReadOnlyList<SpecProblem> Check(PipelineSpec spec, IReadOnlyCollection<string> datasetContainers)
    {
        var work = PipelineWork.Of(spec);
        var problems = new List<SpecProblem>(DatasetSources.Problems(spec, datasetContainers));
        if (work.TrainingSteps > MaxPipelineTrainingSteps)
        {
            problems.Add(new("$", string.Create(CultureInfo.InvariantCulture,
                $"the pipeline plans {work.TrainingSteps:N0} training steps in all (rounds × members × steps, and the init stage), over this deployment's budget of {MaxPipelineTrainingSteps:N0} ({nameof(MaxPipelineTrainingSteps)}): plan fewer rounds, members or steps, or raise the setting")));
        }

        if (work.Checkpoints > MaxPipelineCheckpoints)
        {
            problems.Add(new("$", string.Create(CultureInfo.InvariantCulture,
                $"the pipeline writes up to {work.Checkpoints:N0} checkpoints, over this deployment's budget of {MaxPipelineCheckpoints:N0} ({nameof(MaxPipelineCheckpoints)}): plan fewer rounds, members, greedy soups or interpolation points, or raise the setting")));
        }

        return problems;
    }
}

/// <summary>The work a valid spec plans: training steps summed over every job, and checkpoints written at most.</summary>
/// <param name="TrainingSteps">Steps of every training job: pretraining, probe, auxiliaries, and every round's members.</param>
/// <param name="Checkpoints">Checkpoints written at most.</param>
public sealed record PipelineWork(long TrainingSteps, long Checkpoints)
{
    /// <summary>The work of <paramref name="spec"/> (a spec that passed validation).</summary>
    public static PipelineWork Of(PipelineSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        long steps = 0, checkpoints = 0;
        if (spec.Init.Checkpoint is null)
            (steps, checkpoints) = (spec.Init.PretrainSteps, 1);
        if (spec.Init.LinearProbe is { } probe)
            (steps, checkpoints) = (steps + probe.Steps, checkpoints + 1);
        foreach (var auxiliary in spec.Auxiliary ?? [])
            (steps, checkpoints) = (steps + (auxiliary.Steps ?? spec.Members.Steps), checkpoints + 1);

        // Members draw the same settings every round (only their seeds change), so one round's plan prices them all.
        var members = MemberPlanner.Plan(spec, round: 1);
        var soup = spec.Soup;
        var baselines = soup?.Interpolation?.Morl?.Count ?? 0; // MORL runs: member `from`'s settings
        var roundSteps = members.Sum(m => (long)m.Settings.Steps) + (baselines > 0 ? baselines * (long)members[soup!.Interpolation!.From].Settings.Steps : 0);
        var roundCheckpoints = members.Count + baselines + 1
            + (soup?.MakesGreedy() == true ? 1 : 0)
            + (soup?.TowardInit is not null ? 1 + (soup.TowardInitSweep?.Count ?? 0) : 0)
            + (soup?.Interpolation?.Points ?? 0);
        return new PipelineWork(steps + (spec.Rounds * roundSteps), checkpoints + (spec.Rounds * (long)roundCheckpoints));
    }
}
