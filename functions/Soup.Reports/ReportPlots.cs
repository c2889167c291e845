using System.Globalization;
using ScottPlot;
using Soup.Orchestration;

namespace Soup.Reports;

/// <summary>A plot of a report: its SVG, or in words why it is not drawn (not measured in this run, or pending).</summary>
/// <param name="Id">The figure's anchor in the page (also the prefix of its SVG's ids).</param>
/// <param name="Title">Its heading.</param>
/// <param name="Caption">What it shows.</param>
/// <param name="Svg">The SVG, ready to inline; null when pending.</param>
/// <param name="Pending">Why there is no plot, when <paramref name="Svg"/> is null.</param>
public sealed record ReportFigure(string Id, string Title, string Caption, string? Svg, string? Pending);

/// <summary>A rewards curve's points on its two objectives, and which of them are Pareto-optimal.</summary>
/// <param name="XSplit">The first objective's split.</param>
/// <param name="YSplit">The second objective's split.</param>
/// <param name="Lambdas">λ of each point that has both scores.</param>
/// <param name="Points">Those points' accuracies on the two objectives.</param>
/// <param name="Optimal">Indices (into <paramref name="Points"/>) of the Pareto-optimal points.</param>
public sealed record RewardsFront(string XSplit, string YSplit, IReadOnlyList<double> Lambdas, IReadOnlyList<(double X, double Y)> Points, IReadOnlyList<int> Optimal);

/// <summary>
/// The report's plots, drawn with ScottPlot as SVG: soup vs members vs ensemble per round; in- vs out-of-distribution
/// accuracy; the λ sweep of rewarded soups with its Pareto front; diversity vs accuracy; and the interpolation curve
/// between two members.
/// </summary>
public static class ReportPlots
{
    private const int Width = 720;
    private const int Height = 420;

    /// <summary>Every figure, in page order; the λ sweep and the members' curve give one figure per round that has one.</summary>
    public static IReadOnlyList<ReportFigure> All(ReportModel model) =>
    [
        SoupVersusMembers(model), InVersusOutOfDistribution(model), .. RewardsSweeps(model), DiversityVersusAccuracy(model), .. MemberCurves(model),
        .. GenerationFronts(model), .. RlTraining(model), RewardAgainstKl(model),
    ];

    /// <summary>
    /// (h) Language models: each round's members, soup and other merged models by their first generation reward against
    /// their KL to the reference (the round's init, or round 1's with <c>klTo: first-init</c>, which puts iterated
    /// rounds on one front, as WARP's figures do).
    /// </summary>
    public static ReportFigure RewardAgainstKl(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string id = "plot-reward-kl";
        const string title = "Reward against KL";
        var rounds = model.Rounds.Where(r => r.Generation?.Any(g => g.KlToReference is not null && g.Rewards.Count > 0) == true).ToList();
        if (rounds.Count == 0)
            return new ReportFigure(id, title, "", null, ReportSections.Pending(model, "No generation evaluation with a KL in this run."));
        var reward = rounds[0].Generation![0].Rewards[0].Reward;
        var reference = rounds[^1].Generation![0].Reference;
        var plot = NewPlot($"Mean '{reward}' against the KL to {(reference is null ? "each round's init" : "round 1's init")}", "KL (nats per completion)", $"mean '{reward}'");
        (double X, double Y)? Point(Core.Jobs.GenerationScore g) =>
            g.KlToReference is { } kl && g.Rewards.FirstOrDefault(r => r.Reward == reward) is { } score ? (kl, score.Mean) : null;
        var members = rounds.SelectMany(r => r.Generation!.Where(g => r.Members.Any(m => m.Checkpoint == g.Checkpoint)).Select(Point));
        var soups = rounds.Select(r => (Round: r.Round, Point: r.Generation!.FirstOrDefault(g => g.Checkpoint == r.Soup) is { } g ? Point(g) : null)).ToList();
        var others = rounds.SelectMany(r => r.Generation!.Where(g => g.Checkpoint != r.Soup && r.Members.All(m => m.Checkpoint != g.Checkpoint)).Select(Point));
        Points(plot, members, "members", 0, MarkerShape.OpenCircle, 7);
        Points(plot, others, "other merged models (sweep, SLERP before LITI, MORL)", 1, MarkerShape.OpenTriangleUp, 8);
        Series(plot, soups.Where(s => s.Point is not null).Select(s => (s.Point!.Value.X, (double?)s.Point.Value.Y)), "delivered soup, round by round", 3, MarkerShape.FilledCircle, LinePattern.Solid);
        foreach (var (round, point) in soups)
        {
            if (point is { } p)
                Annotate(plot, "r" + round.ToString(CultureInfo.InvariantCulture), p.X, p.Y);
        }

        return Figure(id, title,
            $"Every sampled model of every round: its completions' mean '{reward}' against its KL to {(reference is null ? "its round's init" : $"{reference}")}. Up and to the left is better: more reward for less drift.",
            plot, accuracyY: false);
    }

    /// <summary>
    /// (f) Language models: each round's rewarded soups of RL policies against the MORL runs, on the first two generation
    /// rewards; drawn only for rounds that have a rewards sweep scored by generation.
    /// </summary>
    public static IReadOnlyList<ReportFigure> GenerationFronts(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string title = "Rewarded soups vs MORL on generation rewards";
        var figures = new List<ReportFigure>();
        foreach (var front in model.Rounds.Select(GenerationFront.Of).OfType<GenerationFront>())
        {
            var plot = NewPlot($"Round {front.Round}: mean reward of sampled completions", $"'{front.XReward}'", $"'{front.YReward}'");
            Series(plot, front.Soups.Select(p => (p.X, (double?)p.Y)), "rewarded soups (λ sweep of weights)", 0, MarkerShape.OpenCircle, LinePattern.Solid);
            Points(plot, front.Soups.Where(p => p.IsPolicy).Select(p => (p.X, p.Y)), "the two RL policies", 1, MarkerShape.FilledSquare, 11);
            Points(plot, front.Morl.Select(p => (p.X, p.Y)), "MORL (RL on the λ-weighted reward)", 3, MarkerShape.FilledTriangleUp, 11);
            foreach (var point in front.All)
                Annotate(plot, "λ=" + ReportFormat.Lambda(point.Lambda), point.X, point.Y);

            figures.Add(Figure(
                $"plot-generation-front-r{front.Round.ToString(CultureInfo.InvariantCulture)}", title,
                $"Round {front.Round}: the soups (1 − λ)·θ₁ + λ·θ₂ of the two RL policies against RL runs on (1 − λ)·R₁ + λ·R₂, each scored by its completions' mean '{front.XReward}' and '{front.YReward}'. The paper's claim is that the soups' front is close to MORL's at the cost of two RL runs; the hypervolumes are in the Generation section.",
                plot, accuracyY: false));
        }

        return figures.Count > 0 ? figures
            : [new ReportFigure("plot-generation-front", title, "", null, ReportSections.Pending(model, "No rewards sweep of language models scored by generation in this run."))];
    }

    /// <summary>
    /// (g) Language models: each round's RL fine-tunings over their steps, the optimised reward, then each tracked reward
    /// (the gold reward a reward model stands for: reward hacking shows as the tracked curve falling while the optimised
    /// one rises).
    /// </summary>
    public static IReadOnlyList<ReportFigure> RlTraining(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string title = "RL training curves";
        var figures = new List<ReportFigure>();
        foreach (var round in model.Rounds)
        {
            var trained = (round.Generation ?? []).Where(g => g.Training is { Points.Count: > 0 }).ToList();
            if (trained.Count == 0)
                continue;
            var id = $"plot-rl-r{round.Round.ToString(CultureInfo.InvariantCulture)}";
            var optimised = NewPlot($"Round {round.Round}: optimised reward", "step", "mean reward of the step's completions");
            for (var i = 0; i < trained.Count; i++)
            {
                var curve = trained[i].Training!;
                Series(optimised, curve.Points.Select(p => ((double)p.Step, (double?)p.Reward)), $"{ReportSections.Label(round, trained[i].Checkpoint)}: {curve.Reward}", i, MarkerShape.None, LinePattern.Solid);
            }

            figures.Add(Figure(id, title, $"Round {round.Round}: the reward each RL fine-tuning optimised, over its steps.", optimised, accuracyY: false));
            var tracked = trained.SelectMany(g => g.Training!.Tracked).Distinct(StringComparer.Ordinal).ToList();
            foreach (var name in tracked)
            {
                var plot = NewPlot($"Round {round.Round}: tracked '{name}' (not optimised)", "step", $"mean '{name}' of the step's completions");
                for (var i = 0; i < trained.Count; i++)
                {
                    var curve = trained[i].Training!;
                    var t = curve.TrackedIndex(name);
                    if (t >= 0)
                        Series(plot, curve.Points.Select(p => ((double)p.Step, (double?)p.Tracked[t])), $"{ReportSections.Label(round, trained[i].Checkpoint)}: {curve.Reward}", i, MarkerShape.None, LinePattern.Dashed);
                }

                figures.Add(Figure($"{id}-{figures.Count.ToString(CultureInfo.InvariantCulture)}", title,
                    $"Round {round.Round}: '{name}' measured on the same completions while each run optimised its own reward. Where it falls as the optimised reward rises, the optimised reward is being hacked.",
                    plot, accuracyY: false));
            }
        }

        return figures.Count > 0 ? figures
            : [new ReportFigure("plot-rl", title, "", null, ReportSections.Pending(model, "No RL fine-tuning in this run (members.rl)."))];
    }

    /// <summary>(a) Per round on the primary split: each member a dot, the members' mean, the soup and the ensemble.</summary>
    public static ReportFigure SoupVersusMembers(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string id = "plot-soup-members";
        const string title = "Soup vs members vs ensemble";
        if (model.Rounds.Count == 0)
            return new ReportFigure(id, title, "", null, ReportSections.NoRounds(model));

        var split = model.Rounds[^1].Split;
        var plot = NewPlot($"Accuracy per round on '{split}'", "round", "accuracy");
        var memberXs = new List<double>();
        var memberYs = new List<double>();
        foreach (var round in model.Rounds)
        {
            var accuracies = round.Members.Select(m => ReportModel.Accuracy(m, round, round.Split)).OfType<double>().ToList();
            for (var k = 0; k < accuracies.Count; k++)
            {
                memberXs.Add(round.Round + (accuracies.Count == 1 ? 0 : -0.15 + (0.3 * k / (accuracies.Count - 1))));
                memberYs.Add(accuracies[k]);
            }
        }

        var rounds = model.Summaries.Select(s => (double)s.Round.Round).ToArray();
        Points(plot, memberXs, memberYs, "members", 0, MarkerShape.OpenCircle, 6);
        Series(plot, model.Summaries.Select(s => ((double)s.Round.Round, s.Splits[0].MemberMean)), "members' mean", 7, MarkerShape.FilledSquare, LinePattern.Dotted);
        Series(plot, model.Summaries.Select(s => ((double)s.Round.Round, s.Splits[0].Soup)), "soup", 3, MarkerShape.FilledCircle, LinePattern.Solid);
        Series(plot, model.Summaries.Select(s => ((double)s.Round.Round, s.Splits[0].Ensemble)), "ensemble", 2, MarkerShape.FilledDiamond, LinePattern.Dashed);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        return Figure(id, title, "Each member is a dot (spread around its round), with the members' mean, the soup (the members' weights averaged) and the members' prediction ensemble.", plot,
            xLimits: (rounds.Min() - 0.5, rounds.Max() + 0.5));
    }

    /// <summary>(b) In- vs out-of-distribution accuracy of members, soups, ensembles and variants, when both splits were scored.</summary>
    public static ReportFigure InVersusOutOfDistribution(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string id = "plot-id-ood";
        const string title = "In- vs out-of-distribution accuracy";
        if (model.Rounds.Count == 0)
            return new ReportFigure(id, title, "", null, ReportSections.NoRounds(model));
        if (model.InDistribution is not { } x || model.OutOfDistribution is not { } y)
        {
            var scored = string.Join(", ", model.Splits.Select(s => $"'{s}' ({model.RoleOf(s) ?? "no role"})"));
            return new ReportFigure(id, title, "", null,
                $"Not measured in this run: this plot needs scores on a validation (in-distribution) split and a test (out-of-distribution) split; the run has scores on {scored}.");
        }

        var plot = NewPlot("Out- vs in-distribution accuracy", $"in-distribution accuracy ('{x}')", $"out-of-distribution accuracy ('{y}')");
        var members = model.Rounds.SelectMany(r => r.Members.Select(m => Pair(ReportModel.Accuracy(m, r, x), ReportModel.Accuracy(m, r, y))));
        Points(plot, members, "members", 0, MarkerShape.OpenCircle, 6);
        Points(plot, model.Rounds.Select(r => Pair(ReportModel.SoupAccuracy(r, x), ReportModel.SoupAccuracy(r, y))), "soups", 3, MarkerShape.FilledCircle, 9);
        Points(plot, model.Rounds.Select(r => Pair(ReportModel.EnsembleAccuracy(r, x), ReportModel.EnsembleAccuracy(r, y))), "ensembles", 2, MarkerShape.FilledDiamond, 9);
        var variants = model.Rounds.SelectMany(r => r.Variants ?? []).GroupBy(v => v.Name, StringComparer.Ordinal);
        var color = 4;
        foreach (var variant in variants)
            Points(plot, variant.Select(v => Pair(ReportModel.Find(v.Scores, x), ReportModel.Find(v.Scores, y))), variant.Key, color++, MarkerShape.FilledTriangleUp, 9);
        return Figure(id, title, $"Every member, soup, ensemble and variant of every round: accuracy on '{x}' (in-distribution) against '{y}' (out-of-distribution).", plot, accuracyX: true);
    }

    /// <summary>(c) Each round's rewards λ sweep: accuracy on one objective against the other, Pareto-optimal points marked.</summary>
    public static IReadOnlyList<ReportFigure> RewardsSweeps(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string title = "Rewarded soups: λ sweep and Pareto front";
        var figures = new List<ReportFigure>();
        foreach (var round in model.Rounds.Where(r => r.Interpolation is { Kind: CurveKinds.Rewards }))
        {
            var id = $"plot-rewards-r{round.Round.ToString(CultureInfo.InvariantCulture)}";
            if (RewardsFront(model, round.Interpolation!) is not { Points.Count: > 0 } front)
            {
                figures.Add(new ReportFigure(id, title, "", null, $"Round {round.Round}'s rewards curve has no two objectives scored at the same λ."));
                continue;
            }

            var plot = NewPlot($"Round {round.Round}: accuracy on the two objectives along λ", $"accuracy on '{front.XSplit}'", $"accuracy on '{front.YSplit}'");
            Series(plot, front.Points.Select(p => (p.X, (double?)p.Y)), "λ from 0 to 1", 0, MarkerShape.OpenCircle, LinePattern.Solid);
            Points(plot, front.Optimal.Select(i => front.Points[i]), "Pareto-optimal", 3, MarkerShape.FilledCircle, 11);
            for (var i = 0; i < front.Points.Count; i++)
                Annotate(plot, "λ=" + ReportFormat.Lambda(front.Lambdas[i]), front.Points[i].X, front.Points[i].Y);

            figures.Add(Figure(id, title, $"Round {round.Round}: the soups (1 − λ)·θ₁ + λ·θ₂ between the objectives' members, scored on '{front.XSplit}' and '{front.YSplit}'; filled points are Pareto-optimal (no other λ is as good on both and better on one).", plot, accuracyX: true));
        }

        return figures.Count > 0 ? figures
            : [new ReportFigure("plot-rewards", title, "", null, ReportSections.Pending(model, "No λ sweep between rewards (an interpolation curve of kind 'rewards') in this run."))];
    }

    /// <summary>
    /// A rewards curve's points on its two objectives (the splits with role <c>objective</c>, else the first two splits
    /// its points are scored on) and its Pareto front; null when it has no two objectives.
    /// </summary>
    public static RewardsFront? RewardsFront(ReportModel model, InterpolationCurve curve)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(curve);
        var scored = ReportModel.SplitsOf(curve.Points.Select(p => p.Scores));
        var objectives = model.Objectives.Where(scored.Contains).ToList();
        var axes = objectives.Count >= 2 ? objectives : scored;
        if (axes.Count < 2)
            return null;

        var lambdas = new List<double>();
        var points = new List<(double X, double Y)>();
        foreach (var point in curve.Points)
        {
            if (ReportModel.Find(point.Scores, axes[0]) is { } x && ReportModel.Find(point.Scores, axes[1]) is { } y)
            {
                lambdas.Add(point.Lambda);
                points.Add((x, y));
            }
        }

        return new RewardsFront(axes[0], axes[1], lambdas, points, ParetoFront.Indices(points));
    }

    /// <summary>(d) Per round: the members' diversity (ratio-error, else disagreement) against the soup's, ensemble's and members' accuracy.</summary>
    public static ReportFigure DiversityVersusAccuracy(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string id = "plot-diversity";
        const string title = "Diversity vs accuracy";
        var useRatio = model.Rounds.Any(r => r.Diagnostics?.RatioError is not null);
        var measured = model.Summaries.Where(s => (useRatio ? s.Round.Diagnostics?.RatioError : s.Round.Diagnostics?.Disagreement) is not null).ToList();
        if (measured.Count == 0)
        {
            return new ReportFigure(id, title, "", null,
                ReportSections.Pending(model, "No diversity measured in this run (neither the ratio-error nor the disagreement of the members' predictions)."));
        }

        var measure = useRatio ? "ratio-error" : "disagreement";
        double X(RoundSummary s) => (useRatio ? s.Round.Diagnostics!.RatioError : s.Round.Diagnostics!.Disagreement)!.Value;
        var plot = NewPlot($"Accuracy against the members' {measure}", $"{measure} of the members' predictions", $"accuracy on '{measured[0].Splits[0].Split}'");
        Points(plot, measured.Select(s => Pair(X(s), s.Splits[0].Soup)), "soup", 3, MarkerShape.FilledCircle, 9);
        Points(plot, measured.Select(s => Pair(X(s), s.Splits[0].Ensemble)), "ensemble", 2, MarkerShape.FilledDiamond, 9);
        Points(plot, measured.Select(s => Pair(X(s), s.Splits[0].MemberMean)), "members' mean", 7, MarkerShape.FilledSquare, 8);
        foreach (var s in measured.Where(s => s.Splits[0].Soup is not null))
            Annotate(plot, $"round {s.Round.Round}", X(s), s.Splits[0].Soup!.Value);

        return Figure(id, title, $"One point per round: the members' {measure} (higher: more diverse) against the accuracy of the soup, the ensemble and the members' mean on each round's primary split.", plot);
    }

    /// <summary>(e) Each round's interpolation between two members: accuracy against λ on every split.</summary>
    public static IReadOnlyList<ReportFigure> MemberCurves(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string title = "Linear interpolation between two members";
        var figures = new List<ReportFigure>();
        foreach (var round in model.Rounds.Where(r => r.Interpolation is { Kind: CurveKinds.Members, Points.Count: > 0 }))
        {
            var curve = round.Interpolation!;
            var plot = NewPlot($"Round {round.Round}: accuracy along (1 − λ)·A + λ·B", "λ", "accuracy");
            var splits = ReportModel.SplitsOf(curve.Points.Select(p => p.Scores));
            for (var i = 0; i < splits.Count; i++)
                Series(plot, curve.Points.Select(p => (p.Lambda, ReportModel.Find(p.Scores, splits[i]))), $"'{splits[i]}'", i, MarkerShape.FilledCircle, LinePattern.Solid);
            figures.Add(Figure($"plot-members-curve-r{round.Round.ToString(CultureInfo.InvariantCulture)}", title,
                $"Round {round.Round}: A = {curve.From}, B = {curve.To}. A curve without a dip in the middle means the two members are linearly connected, which averaging relies on.", plot, xLimits: (-0.05, 1.05)));
        }

        return figures.Count > 0 ? figures
            : [new ReportFigure("plot-members-curve", title, "", null, ReportSections.Pending(model, "No interpolation curve between two members in this run."))];
    }

    private static Plot NewPlot(string title, string x, string y)
    {
        ReportFonts.EnsureRegistered();
        var plot = new Plot();
        plot.Title(title, size: 15);
        plot.XLabel(x, size: 13);
        plot.YLabel(y, size: 13);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static ReportFigure Figure(string id, string title, string caption, Plot plot, bool accuracyX = false, (double Left, double Right)? xLimits = null, bool accuracyY = true)
    {
        // Accuracies lie in [0, 1]: autoscaling around equal values (every member at 100%) must not show 2 or -1.
        plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        if (accuracyY)
            plot.Axes.SetLimitsY(Math.Max(limits.Bottom, -0.01), Math.Min(limits.Top, 1.01));
        if (accuracyX)
            plot.Axes.SetLimitsX(Math.Max(limits.Left, -0.01), Math.Min(limits.Right, 1.01));
        if (xLimits is { } x)
            plot.Axes.SetLimitsX(x.Left, x.Right);
        return new(id, title, caption, SvgInline.Prepare(plot.GetSvgXml(Width, Height), id), null);
    }

    /// <summary>A small label just right of a point.</summary>
    private static void Annotate(Plot plot, string text, double x, double y)
    {
        var label = plot.Add.Text(text, x, y);
        label.LabelFontSize = 11;
        label.LabelOffsetX = 6;
    }

    private static (double X, double Y)? Pair(double? x, double? y) => x is { } a && y is { } b ? (a, b) : null;

    private static void Points(Plot plot, IEnumerable<(double X, double Y)?> points, string legend, int color, MarkerShape shape, float size) =>
        Points(plot, points.OfType<(double X, double Y)>(), legend, color, shape, size);

    private static void Points(Plot plot, IEnumerable<(double X, double Y)> points, string legend, int color, MarkerShape shape, float size)
    {
        var list = points.ToList();
        Points(plot, [.. list.Select(p => p.X)], [.. list.Select(p => p.Y)], legend, color, shape, size);
    }

    private static void Points(Plot plot, IReadOnlyList<double> xs, IReadOnlyList<double> ys, string legend, int color, MarkerShape shape, float size)
    {
        if (xs.Count == 0)
            return;
        var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), Palette.GetColor(color));
        scatter.LineWidth = 0;
        scatter.MarkerShape = shape;
        scatter.MarkerSize = size;
        scatter.LegendText = legend;
    }

    private static void Series(Plot plot, IEnumerable<(double X, double? Y)> points, string legend, int color, MarkerShape shape, LinePattern pattern)
    {
        var list = points.Where(p => p.Y is not null).ToList();
        if (list.Count == 0)
            return;
        var scatter = plot.Add.Scatter(list.Select(p => p.X).ToArray(), list.Select(p => p.Y!.Value).ToArray(), Palette.GetColor(color));
        scatter.LineWidth = 2;
        scatter.LinePattern = pattern;
        scatter.MarkerShape = shape;
        scatter.MarkerSize = 8;
        scatter.LegendText = legend;
    }

    private static readonly ScottPlot.Palettes.Category10 Palette = new();
}
