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
}
