namespace Soup.Reports;

/// <summary>The Pareto front of points scored on two objectives, both to be maximised (rewarded soups' λ sweep).</summary>
public static class ParetoFront
{
    /// <summary>
    /// The indices of the Pareto-optimal points, ascending: those no other point dominates, where a point dominates
    /// another when it is at least as good on both objectives and better on one. Equal points are all optimal when
    /// none dominates them; NaN coordinates make a point neither optimal nor dominating.
    /// </summary>
    public static IReadOnlyList<int> Indices(IReadOnlyList<(double X, double Y)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var front = new List<int>();
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (double.IsNaN(p.X) || double.IsNaN(p.Y))
                continue;
            var dominated = false;
            for (var j = 0; j < points.Count && !dominated; j++)
            {
                var q = points[j];
                dominated = j != i && q.X >= p.X && q.Y >= p.Y && (q.X > p.X || q.Y > p.Y);
            }

            if (!dominated)
                front.Add(i);
        }

        return front;
    }

    /// <summary>
    /// The area dominated by <paramref name="points"/> and bounded below by <paramref name="reference"/> (both objectives
    /// maximised): the union of the rectangles [reference, point]. Points at or below the reference on an objective add
    /// nothing; NaN points are ignored. Larger is a better front; compare sets only against the same reference.
    /// </summary>
    public static double Hypervolume(IReadOnlyList<(double X, double Y)> points, (double X, double Y) reference)
    {
        ArgumentNullException.ThrowIfNull(points);
        var front = Indices(points).Select(i => points[i]).Where(p => p.X > reference.X && p.Y > reference.Y)
            .OrderByDescending(p => p.X).ThenBy(p => p.Y).ToList();
        double area = 0, floor = reference.Y;
        foreach (var (x, y) in front)
        {
            if (y <= floor)
                continue;
            area += (x - reference.X) * (y - floor);
            floor = y;
        }

        return area;
    }
}
