namespace Soup.Core.Tests.Merging.Methods;

/// <summary>Straightforward double-precision implementations of the merge methods, written from their definitions.</summary>
internal static class Reference
{
    public static double[] TaskVector(float[] member, float[] baseValues) =>
        member.Select((m, i) => (double)m - baseValues[i]).ToArray();

    public static double Weight(IReadOnlyList<double>? weights, int k) => weights?[k] ?? 1.0;

    public static double[] TaskArithmetic(float[][] members, float[] baseValues, IReadOnlyList<double>? weights, double lambda)
    {
        var result = MergeTestData.ToDouble(baseValues);
        for (var k = 0; k < members.Length; k++)
        {
            var tau = TaskVector(members[k], baseValues);
            for (var i = 0; i < result.Length; i++)
            {
                result[i] += lambda * Weight(weights, k) * tau[i];
            }
        }

        return result;
    }

    /// <summary>Keeps the round(density·n) (at least 1) largest |τ|, ties broken by lower index, by sorting.</summary>
    public static double[] Trim(double[] tau, double density)
    {
        var keep = Math.Max(1, (int)Math.Round(density * tau.Length, MidpointRounding.AwayFromZero));
        var kept = Enumerable.Range(0, tau.Length)
            .OrderByDescending(i => Math.Abs(tau[i]))
            .ThenBy(i => i)
            .Take(keep)
            .ToHashSet();
        return tau.Select((v, i) => kept.Contains(i) ? v : 0).ToArray();
    }

    /// <summary>TIES's election and disjoint merge of already trimmed or dropped task vectors.</summary>
    public static double[] Disjoint(double[][] taus, float[] baseValues, IReadOnlyList<double>? weights, bool normalize, double lambda)
    {
        var result = new double[baseValues.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var total = 0.0;
            for (var k = 0; k < taus.Length; k++)
            {
                total += Weight(weights, k) * taus[k][i];
            }

            var sign = total >= 0 ? 1 : -1;
            double sum = 0, weightSum = 0;
            for (var k = 0; k < taus.Length; k++)
            {
                var v = Weight(weights, k) * taus[k][i];
                if (Math.Sign(v) == sign)
                {
                    sum += v;
                    weightSum += Weight(weights, k);
                }
            }

            var merged = normalize && weightSum != 0 ? sum / weightSum : sum;
            result[i] = baseValues[i] + (lambda * merged);
        }

        return result;
    }

    public static double[] Ties(float[][] members, float[] baseValues, IReadOnlyList<double>? weights, bool normalize, double lambda, double density) =>
        Disjoint(members.Select(m => Trim(TaskVector(m, baseValues), density)).ToArray(), baseValues, weights, normalize, lambda);

    /// <summary>DARE's keep decision, from the documented formula (SplitMix64 finalizer, FNV-1a 64 of the UTF-8 name).</summary>
    public static bool DareKeep(int seed, int member, string tensor, long element, double density)
    {
        static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        var name = 14695981039346656037UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(tensor))
        {
            name = (name ^ b) * 1099511628211UL;
        }

        var stream = Mix(Mix(Mix((ulong)(uint)seed) ^ name) ^ (ulong)member);
        var u = Mix(stream + ((ulong)(element + 1) * 0x9E3779B97F4A7C15UL)) >> 11;
        return u < Math.Ceiling(density * Math.Pow(2, 53));
    }

    public static double[] Dare(double[] tau, int seed, int member, string tensor, double density) =>
        tau.Select((v, i) => DareKeep(seed, member, tensor, i, density) ? v / density : 0).ToArray();

    public static double[] DareLinear(float[][] members, float[] baseValues, IReadOnlyList<double>? weights, double lambda, double density, int seed, string tensor)
    {
        var result = MergeTestData.ToDouble(baseValues);
        for (var k = 0; k < members.Length; k++)
        {
            var tau = Dare(TaskVector(members[k], baseValues), seed, k, tensor, density);
            for (var i = 0; i < result.Length; i++)
            {
                result[i] += lambda * Weight(weights, k) * tau[i];
            }
        }

        return result;
    }

    public static double[] DareTies(float[][] members, float[] baseValues, IReadOnlyList<double>? weights, bool normalize, double lambda, double density, int seed, string tensor) =>
        Disjoint(members.Select((m, k) => Dare(TaskVector(m, baseValues), seed, k, tensor, density)).ToArray(), baseValues, weights, normalize, lambda);

    public static double[] Slerp(float[] first, float[] second, float[]? baseValues, double t)
    {
        var origin = baseValues is null ? new double[first.Length] : MergeTestData.ToDouble(baseValues);
        var v0 = first.Select((v, i) => v - origin[i]).ToArray();
        var v1 = second.Select((v, i) => v - origin[i]).ToArray();
        var n0 = Math.Sqrt(v0.Sum(v => v * v));
        var n1 = Math.Sqrt(v1.Sum(v => v * v));
        double s0 = 1 - t, s1 = t;
        if (n0 > 1e-8 && n1 > 1e-8)
        {
            var cos = v0.Select((v, i) => v / n0 * (v1[i] / n1)).Sum();
            if (Math.Abs(cos) <= 0.9995)
            {
                var omega = Math.Acos(cos);
                s0 = Math.Sin((1 - t) * omega) / Math.Sin(omega);
                s1 = Math.Sin(t * omega) / Math.Sin(omega);
            }
        }

        return v0.Select((v, i) => origin[i] + (s0 * v) + (s1 * v1[i])).ToArray();
    }

    public static double[] ModelStock(float[][] members, float[] baseValues)
    {
        var n = members.Length;
        var taus = members.Select(m => TaskVector(m, baseValues)).ToArray();
        var norms = taus.Select(tau => Math.Sqrt(tau.Sum(v => v * v))).ToArray();
        double t;
        if (norms.Any(norm => norm == 0))
        {
            t = 1;
        }
        else
        {
            var cosines = new List<double>();
            for (var i = 0; i < n; i++)
            {
                for (var j = i + 1; j < n; j++)
                {
                    cosines.Add(taus[i].Select((v, e) => v * taus[j][e]).Sum() / (norms[i] * norms[j]));
                }
            }

            var cos = Math.Clamp(cosines.Average(), 0, 1);
            t = n * cos / (1 + ((n - 1) * cos));
        }

        return baseValues.Select((b, i) => (t * members.Average(m => (double)m[i])) + ((1 - t) * b)).ToArray();
    }

    public static double[] Liti(float[][] members, float[] baseValues, IReadOnlyList<double>? weights, double eta)
    {
        var total = weights?.Sum() ?? members.Length;
        return baseValues.Select((b, i) =>
        {
            var soup = members.Select((m, k) => Weight(weights, k) / total * m[i]).Sum();
            return ((1 - eta) * b) + (eta * soup);
        }).ToArray();
    }
}
