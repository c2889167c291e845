namespace Soup.Core.Tests.Merging.Methods;

/// <summary>
/// Straightforward double-precision implementations of the merge methods, written from mergekit's published semantics
/// (v0.1.4, commit a6e4028: sparsify.py, generalized_task_arithmetic.py, registry.py, model_stock.py, slerp.py,
/// nuslerp.py) as plain loops and sorts: the conformance target. Where mergekit leaves something to its random
/// generator or sort (DARE's drops, ties among equal magnitudes), the product's documented choice is used.
/// </summary>
internal static class Reference
{
    public static double[] TaskVector(float[] member, float[] baseValues) =>
        member.Select((m, i) => (double)m - baseValues[i]).ToArray();

    public static double Weight(IReadOnlyList<double>? weights, int k) => weights?[k] ?? 1.0;

    /// <summary>GTA without consensus: base + λ·Σ wᵢτᵢ, divided by Σ wᵢ (1 when |Σ wᵢ| &lt; 1e-8) when normalizing.</summary>
    public static double[] Sum(double[][] taus, float[] baseValues, IReadOnlyList<double>? weights, bool normalize, double lambda)
    {
        var divisor = Enumerable.Range(0, taus.Length).Sum(k => Weight(weights, k));
        if (!normalize || Math.Abs(divisor) < 1e-8)
            divisor = 1;
        var result = MergeTestData.ToDouble(baseValues);
        for (var i = 0; i < result.Length; i++)
        {
            var mixed = 0.0;
            for (var k = 0; k < taus.Length; k++)
                mixed += Weight(weights, k) * taus[k][i];
            result[i] += lambda * (mixed / divisor);
        }

        return result;
    }

    public static double[] TaskArithmetic(float[][] members, float[] baseValues, IReadOnlyList<double>? weights, double lambda, bool normalize = false) =>
        Sum([.. members.Select(m => TaskVector(m, baseValues))], baseValues, weights, normalize, lambda);

    /// <summary>mergekit's rescaled_masked_tensor with the L1 norm: ×‖τ‖₁/‖kept‖₁ unless either is under 1e-7.</summary>
    public static double[] RescaleL1(double[] tau, double[] kept)
    {
        var before = tau.Sum(Math.Abs);
        var after = kept.Sum(Math.Abs);
        return before < 1e-7 || after < 1e-7 ? kept : [.. kept.Select(v => v * (before / after))];
    }

    /// <summary>
    /// mergekit's magnitude: unchanged at density ≥ 1, else the k = int(density·n) largest |τ| kept (by sorting; ties to the
    /// lower index, where mergekit's unstable argsort leaves them open; k at least 1 where mergekit's assertion stops).
    /// </summary>
    public static double[] Trim(double[] tau, double density)
    {
        if (density >= 1)
            return tau;
        var keep = Math.Max(1, (int)(density * tau.Length));
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

    public static double[] Ties(float[][] members, float[] baseValues, IReadOnlyList<double>? weights, bool normalize, double lambda, double density, string rescale = "none") =>
        Disjoint(members.Select(m => Rescale(TaskVector(m, baseValues), Trim(TaskVector(m, baseValues), density), density, rescale)).ToArray(), baseValues, weights, normalize, lambda);

    /// <summary>The kept entries scaled: l1 (mergekit's), density (×1/density) or none; nothing at density ≥ 1.</summary>
    public static double[] Rescale(double[] tau, double[] kept, double density, string rescale) =>
        density >= 1 ? kept : rescale switch
        {
            "l1" => RescaleL1(tau, kept),
            "density" => [.. kept.Select(v => v / density)],
            _ => kept,
        };

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

    /// <summary>mergekit's bernoulli with the product's drops (mergekit's come from torch's generator), then the rescale.</summary>
    public static double[] Dare(double[] tau, int seed, int member, string tensor, double density, string rescale = "l1") =>
        density >= 1 ? tau : Rescale(tau, [.. tau.Select((v, i) => DareKeep(seed, member, tensor, i, density) ? v : 0)], density, rescale);

    public static double[] DareLinear(
        float[][] members, float[] baseValues, IReadOnlyList<double>? weights, double lambda, double density, int seed, string tensor, bool normalize = false, string rescale = "l1") =>
        Sum([.. members.Select((m, k) => Dare(TaskVector(m, baseValues), seed, k, tensor, density, rescale))], baseValues, weights, normalize, lambda);

    public static double[] DareTies(
        float[][] members, float[] baseValues, IReadOnlyList<double>? weights, bool normalize, double lambda, double density, int seed, string tensor, string rescale = "l1") =>
        Disjoint(members.Select((m, k) => Dare(TaskVector(m, baseValues), seed, k, tensor, density, rescale)).ToArray(), baseValues, weights, normalize, lambda);

    /// <summary>mergekit's slerp: v₀ = the base when there is one (then one member), else the first member.</summary>
    public static double[] Slerp(float[] first, float[]? second, float[]? baseValues, double t)
    {
        var v0 = MergeTestData.ToDouble(baseValues ?? first);
        var v1 = MergeTestData.ToDouble(baseValues is null ? second! : first);
        var n0 = Math.Sqrt(v0.Sum(v => v * v));
        var n1 = Math.Sqrt(v1.Sum(v => v * v));
        var u0 = n0 > 1e-8 ? v0.Select(v => v / n0).ToArray() : v0;
        var u1 = n1 > 1e-8 ? v1.Select(v => v / n1).ToArray() : v1;
        var dot = u0.Select((v, i) => v * u1[i]).Sum();
        if (Math.Abs(dot) > 0.9995)
            return [.. v0.Select((v, i) => ((1 - t) * v) + (t * v1[i]))];
        var theta0 = Math.Acos(dot);
        var thetaT = theta0 * t;
        var s0 = Math.Sin(theta0 - thetaT) / Math.Sin(theta0);
        var s1 = Math.Sin(thetaT) / Math.Sin(theta0);
        return [.. v0.Select((v, i) => (s0 * v) + (s1 * v1[i]))];
    }

    /// <summary>mergekit's nuslerp (flattened): of the members, or with a base of their task vectors; t = w₁/(w₀ + w₁) with weights.</summary>
    public static double[] Nuslerp(float[] first, float[] second, float[]? baseValues, double t, IReadOnlyList<double>? weights = null)
    {
        if (weights is { Count: 2 })
            t = Math.Abs(weights[0] + weights[1]) < 1e-6 ? 0.5 : weights[1] / (weights[0] + weights[1]);
        var origin = baseValues is null ? new double[first.Length] : MergeTestData.ToDouble(baseValues);
        var v0 = first.Select((v, i) => v - origin[i]).ToArray();
        var v1 = second.Select((v, i) => v - origin[i]).ToArray();
        var n0 = Math.Max(Math.Sqrt(v0.Sum(v => v * v)), 1e-7);
        var n1 = Math.Max(Math.Sqrt(v1.Sum(v => v * v)), 1e-7);
        var cos = v0.Select((v, i) => v / n0 * (v1[i] / n1)).Sum();
        var theta = Math.Acos(Math.Clamp(cos, -1, 1));
        var sin = Math.Sin(theta);
        double[] merged = Math.Abs(sin) < 1e-8
            ? [.. v0.Select((v, i) => ((1 - t) * v) + (t * v1[i]))]
            : [.. v0.Select((v, i) => ((Math.Sin((1 - t) * theta) * v) + (Math.Sin(t * theta) * v1[i])) / sin)];
        return [.. merged.Select((v, i) => origin[i] + v)];
    }

    /// <summary>mergekit's model_stock: pairwise cosines over max(‖a‖‖b‖, 1e-6) clamped to [−1, 1], averaged; t unclamped.</summary>
    public static double[] ModelStock(float[][] members, float[] baseValues)
    {
        var n = members.Length;
        var taus = members.Select(m => TaskVector(m, baseValues)).ToArray();
        var norms = taus.Select(tau => Math.Sqrt(tau.Sum(v => v * v))).ToArray();
        var cosines = new List<double>();
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
                cosines.Add(Math.Clamp(taus[i].Select((v, e) => v * taus[j][e]).Sum() / Math.Max(norms[i] * norms[j], 1e-6), -1, 1));
        }

        var cos = cosines.Average();
        var t = n * cos / (1 + ((n - 1) * cos));
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
