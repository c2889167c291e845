using System.Globalization;
using Soup.Merging;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Soup.Cli.Commands;

/// <summary>A mergekit config turned into this tool's merge: members, base, parameters, output dtype, and notes on what it did not apply.</summary>
/// <param name="Members">The members' locations, in the config's order (the base left out where the method takes it apart).</param>
/// <param name="Base">The base model's location, or null.</param>
/// <param name="Parameters">The method and its parameters.</param>
/// <param name="OutputDtype">F16, BF16 or F32 from <c>out_dtype</c> (else <c>dtype</c>), or null: the inputs'.</param>
/// <param name="Notes">Keys read but not applied, each with why (printed; never silent).</param>
/// <param name="Tensors">The parameters that vary by tensor (gradients, filters), or null when every one is a number.</param>
public sealed record MergekitPlan(IReadOnlyList<string> Members, string? Base, MergeParameters Parameters, string? OutputDtype, IReadOnlyList<string> Notes, TensorSettings? Tensors = null);

/// <summary>A problem in a mergekit config, with the YAML path of the key it is about (e.g. <c>models[1].parameters.density</c>).</summary>
public sealed class MergekitConfigException(string path, string message) : FormatException($"{path}: {message}")
{
    /// <summary>Where the problem is.</summary>
    public string Path { get; } = path;
}

/// <summary>
/// Reads a mergekit YAML config (mergekit v0.1.4's schema: <c>merge_method</c>, <c>base_model</c>, <c>models</c> with
/// per-model <c>parameters</c>, global <c>parameters</c>, <c>dtype</c>, <c>out_dtype</c>) into a <see cref="MergekitPlan"/>.
/// Parameters are numbers (booleans for switches), per model or global, a model's own taking precedence, as in
/// mergekit. What this tool does not do is refused naming the key and its path, never ignored: gradient lists and
/// per-tensor <c>filter</c> conditionals, <c>slices</c>, <c>modules</c>, tokenizer options, merge methods it lacks.
/// Model references are what <c>pipeline merge</c> takes: files, sharded folders, <c>blob:</c> locations.
/// </summary>
public static class MergekitConfig
{
    private static readonly Dictionary<string, string> Methods = new(StringComparer.Ordinal)
    {
        ["linear"] = MergeMethods.Linear,
        ["task_arithmetic"] = MergeMethods.TaskArithmetic,
        ["ties"] = MergeMethods.Ties,
        ["dare_linear"] = MergeMethods.DareLinear,
        ["dare_ties"] = MergeMethods.DareTies,
        ["slerp"] = MergeMethods.Slerp,
        ["nuslerp"] = MergeMethods.Nuslerp,
        ["model_stock"] = MergeMethods.ModelStock,
    };

    private static readonly string[] MergekitOnly =
        ["passthrough", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "sce", "karcher", "arcee_fusion", "multislerp", "nearswap", "ram"];

    private static readonly string[] TopKeys = ["merge_method", "base_model", "models", "parameters", "dtype", "out_dtype"];

    private static readonly string[] Unsupported = ["slices", "modules", "tokenizer_source", "tokenizer", "chat_template"];

    private static readonly string[] PerModelKeys = ["weight", "density"];

    private static readonly string[] Varying = ["weight", "density", "t", "lambda"];

    private static readonly string[] GlobalKeys = ["weight", "density", "normalize", "lambda", "rescale", "int8_mask", "t", "nuslerp_flatten", "nuslerp_row_wise", "filter_wise"];

    /// <summary>Parses <paramref name="yaml"/>.</summary>
    /// <exception cref="MergekitConfigException">The config is not valid YAML, or a key is unknown, unsupported or out of range (the message names its path).</exception>
    public static MergekitPlan Parse(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new MergekitConfigException($"line {ex.Start.Line}", $"not valid YAML: {ex.Message}");
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new MergekitConfigException("(root)", "a mergekit config is one YAML mapping (merge_method, models, ...)");
        var notes = new List<string>();
        var top = Keys(root, "(root)");
        foreach (var (key, _) in top)
        {
            if (Unsupported.Contains(key))
                throw new MergekitConfigException(key, UnsupportedMessage(key));
            if (!TopKeys.Contains(key))
                throw new MergekitConfigException(key, $"unknown key; a mergekit config has {string.Join(", ", TopKeys.Concat(Unsupported))}");
        }

        var methodName = Text(Required(top, "merge_method", "(root)"), "merge_method");
        if (!Methods.TryGetValue(methodName, out var method))
        {
            throw new MergekitConfigException("merge_method", MergekitOnly.Contains(methodName)
                ? $"mergekit's '{methodName}' is not implemented here; supported: {string.Join(", ", Methods.Keys)}"
                : $"unknown merge method '{methodName}'; supported: {string.Join(", ", Methods.Keys)}");
        }

        var baseModel = top.TryGetValue("base_model", out var baseNode) ? Text(baseNode, "base_model") : null;
        var global = top.TryGetValue("parameters", out var globalNode) ? Parameters(globalNode, "parameters", GlobalKeys) : [];
        var models = new List<(string Model, Dictionary<string, (YamlNode Node, string Path)> Parameters, string Path)>();
        if (top.TryGetValue("models", out var modelsNode))
        {
            if (modelsNode is not YamlSequenceNode sequence)
                throw new MergekitConfigException("models", "must be a list of { model, parameters }");
            for (var i = 0; i < sequence.Children.Count; i++)
            {
                var path = $"models[{i}]";
                var entry = Keys(sequence.Children[i], path);
                foreach (var (key, _) in entry)
                {
                    if (key is not ("model" or "parameters"))
                        throw new MergekitConfigException($"{path}.{key}", "unknown key; a model entry has model and parameters");
                }

                var model = Text(Required(entry, "model", path), $"{path}.model");
                var previous = models.FindIndex(m => m.Model == model);
                if (previous >= 0)
                    throw new MergekitConfigException($"{path}.model", $"'{model}' is listed twice (also models[{previous}])");
                models.Add((model, entry.TryGetValue("parameters", out var p) ? Parameters(p, $"{path}.parameters", PerModelKeys) : [], path));
            }
        }

        // The base is a member only for linear (mergekit merges every tensor it gathers); the others take it apart.
        var baseIsMember = method == MergeMethods.Linear;
        if (baseModel is not null && baseIsMember && models.All(m => m.Model != baseModel))
            notes.Add($"base_model: linear does not use a base unless it is listed in models; '{baseModel}' is not merged");
        var members = models.Where(m => baseIsMember || m.Model != baseModel).ToList();
        if (members.Count == 0)
            throw new MergekitConfigException("models", "no model to merge besides the base");

        // A model's own setting, else the global one (mergekit's precedence); evaluated per tensor when not a number.
        ParameterSetting? Own(int member, string key) =>
            members[member].Parameters.TryGetValue(key, out var own) ? Setting(own.Node, own.Path) : null;
        ParameterSetting? Shared(string key) => global.TryGetValue(key, out var shared) ? Setting(shared.Node, shared.Path) : null;
        string PathOf(int member, string key) => members[member].Parameters.ContainsKey(key) ? $"{members[member].Path}.parameters.{key}" : $"parameters.{key}";

        var parameters = new MergeParameters { Method = method };
        var takesWeights = method is not (MergeMethods.Slerp or MergeMethods.ModelStock);
        var weights = Enumerable.Range(0, members.Count).Select(k => Own(k, "weight") ?? Shared("weight")).ToList();
        var densities = Enumerable.Range(0, members.Count).Select(k => Own(k, "density") ?? Shared("density")).ToList();
        var varying = false;
        if (takesWeights)
        {
            var missing = weights.FindIndex(w => w is null);
            if (missing >= 0)
                throw new MergekitConfigException($"{members[missing].Path}.parameters.weight", $"{methodName} needs a weight for every model (mergekit has no default)");
            varying |= weights.Any(w => w!.VariesByTensor);
            if (weights.All(w => !w!.VariesByTensor))
                parameters.Weights = [.. weights.Select(w => w!.Constant!.Value)];
        }
        else if (weights.Any(w => w is not null))
        {
            notes.Add($"weight: {methodName} takes no weights; the ones given are not used");
        }

        for (var k = 0; k < densities.Count; k++)
        {
            if (densities[k] is { } setting && FirstOutside(setting, d => d > 0 && d <= 1) is { } bad)
                throw new MergekitConfigException(PathOf(k, "density"), $"density must be in (0, 1], got {bad.ToString("R", CultureInfo.InvariantCulture)}");
        }

        var thinning = method is MergeMethods.Ties or MergeMethods.DareLinear or MergeMethods.DareTies;
        if (thinning)
        {
            varying |= densities.Any(d => d?.VariesByTensor == true);
            var constants = densities.Select(d => d?.Constant ?? 1.0).ToList();
            if (!densities.Any(d => d?.VariesByTensor == true))
            {
                if (constants.Distinct().Count() == 1)
                    parameters.Density = constants[0];
                else
                    parameters.Densities = constants;
            }
        }
        else if (densities.Any(d => d is not null && d.Values().Any(v => v != 1)))
        {
            notes.Add($"density: {methodName} does not thin task vectors; the densities given are not used");
        }

        ParameterSetting? tSetting = null, lambdaSetting = null;
        foreach (var (key, (node, path)) in global)
        {
            switch (key)
            {
                case "normalize":
                    parameters.Normalize = Switch(node, path);
                    break;
                case "lambda":
                    lambdaSetting = Setting(node, path);
                    if (lambdaSetting.Constant is { } lambda)
                        parameters.Lambda = lambda;
                    else
                        varying = true;
                    break;
                case "rescale":
                    parameters.Rescale = Switch(node, path) ? MergeRescales.L1 : MergeRescales.None;
                    break;
                case "t":
                    tSetting = Setting(node, path);
                    if (FirstOutside(tSetting, v => v >= 0 && v <= 1) is { } badT)
                        throw new MergekitConfigException(path, $"t must be in [0, 1], got {badT.ToString("R", CultureInfo.InvariantCulture)}");
                    if (tSetting.Constant is { } t)
                        parameters.T = t;
                    else
                        varying = true;
                    break;
                case "int8_mask":
                    notes.Add("parameters.int8_mask: ignored (it only changes the dtype of mergekit's sign mask, not the result)");
                    break;
                case "nuslerp_flatten" when !Switch(node, path):
                case "nuslerp_row_wise" when Switch(node, path):
                    throw new MergekitConfigException(path, "only nuslerp of whole flattened tensors is implemented here (nuslerp_flatten: true, nuslerp_row_wise: false)");
                case "filter_wise" when Switch(node, path):
                    throw new MergekitConfigException(path, "model_stock's filter_wise (one angle per row) is not implemented here; only whole tensors");
            }
        }

        if (method == MergeMethods.Slerp && !global.ContainsKey("t"))
            throw new MergekitConfigException("parameters.t", "slerp needs t (mergekit has no default)");

        // The settings that vary by tensor, built once: checked here, then carried by the plan (a constant t or λ is in
        // the parameters already).
        IReadOnlyList<ParameterSetting?> none = [.. members.Select(_ => (ParameterSetting?)null)];
        var perTensor = varying
            ? new TensorSettings(
                takesWeights ? weights : none,
                thinning ? densities : none,
                T: tSetting?.VariesByTensor == true ? tSetting : null,
                Lambda: lambdaSetting?.VariesByTensor == true ? lambdaSetting : null)
            : null;

        // The method's own ranges and switches (normalize for a method without it, a t out of [0, 1]) in mergekit's terms.
        try
        {
            var check = perTensor is not null ? new PerTensorMethod(parameters, perTensor) : MergeMethodFactory.Create(parameters);
            check.Validate(members.Count, baseModel is not null && !baseIsMember);
        }
        catch (ArgumentException ex)
        {
            throw new MergekitConfigException(top.ContainsKey("parameters") ? "parameters" : "models", ex.Message);
        }

        var dtype = top.TryGetValue("out_dtype", out var outNode) ? Dtype(outNode, "out_dtype")
            : top.TryGetValue("dtype", out var dtypeNode) ? Dtype(dtypeNode, "dtype") : null;
        if (top.ContainsKey("dtype") && top.ContainsKey("out_dtype"))
            notes.Add("dtype: merges are computed in F32 (F64 tensors in F64); out_dtype sets what is written");
        return new MergekitPlan([.. members.Select(m => m.Model)], baseIsMember ? null : baseModel, parameters, dtype, notes, perTensor);
    }

    /// <summary>The first value of <paramref name="setting"/> (any tensor's) outside the range <paramref name="inRange"/> accepts; null when all are in it.</summary>
    private static double? FirstOutside(ParameterSetting setting, Func<double, bool> inRange) =>
        setting.Values().Where(v => !inRange(v)).Select(v => (double?)v).FirstOrDefault();

    private static string UnsupportedMessage(string key) => key switch
    {
        "slices" or "modules" => $"'{key}' (layer ranges stitched from several models) is not supported: list whole models under 'models'",
        _ => $"'{key}' is not supported: the merge writes the weights only; copy the tokenizer files from the model you want",
    };

    private static Dictionary<string, YamlNode> Keys(YamlNode node, string path)
    {
        if (node is not YamlMappingNode mapping)
            throw new MergekitConfigException(path, "must be a mapping of keys");
        var keys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (key, value) in mapping.Children)
        {
            var name = key is YamlScalarNode { Value: { } k } ? k : throw new MergekitConfigException(path, "keys must be plain names");
            if (!keys.TryAdd(name, value))
                throw new MergekitConfigException($"{Join(path, name)}", "given twice");
        }

        return keys;
    }

    private static Dictionary<string, (YamlNode Node, string Path)> Parameters(YamlNode node, string path, string[] known)
    {
        var result = new Dictionary<string, (YamlNode, string)>(StringComparer.Ordinal);
        foreach (var (key, value) in Keys(node, path))
        {
            var at = $"{path}.{key}";
            if (!known.Contains(key))
            {
                throw new MergekitConfigException(at, key is "gamma" or "epsilon"
                    ? $"'{key}' belongs to mergekit's breadcrumbs/della, which are not implemented here"
                    : $"unknown parameter; known here: {string.Join(", ", known)}");
            }

            if (value is YamlSequenceNode or YamlMappingNode && !Varying.Contains(key))
                throw new MergekitConfigException(at, $"'{key}' takes one value here (gradients and filters are read for {string.Join(", ", Varying)})");
            result[key] = (value, at);
        }

        return result;
    }

    private static YamlNode Required(Dictionary<string, YamlNode> keys, string key, string path) =>
        keys.TryGetValue(key, out var node) ? node : throw new MergekitConfigException(Join(path, key), "is required");

    private static string Join(string path, string key) => path == "(root)" ? key : $"{path}.{key}";

    private static string Text(YamlNode node, string path) =>
        node is YamlScalarNode { Value: { Length: > 0 } value } ? value : throw new MergekitConfigException(path, "must be a non-empty string");

    private static double Number(YamlNode node, string path)
    {
        var text = node is YamlScalarNode { Value: { } v } ? v.Trim() : throw new MergekitConfigException(path, "must be a number");
        if (text is "true" or "True")
            return 1;
        if (text is "false" or "False")
            return 0;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
            ? number
            : throw new MergekitConfigException(path, $"'{text}' is not a number");
    }

    private static bool Switch(YamlNode node, string path) => Number(node, path) != 0;

    /// <summary>A number, a gradient list of numbers, or a list of { filter, value } conditionals (mergekit's ParameterSetting).</summary>
    private static ParameterSetting Setting(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlScalarNode:
                return new ParameterSetting { Constant = Number(node, path) };
            case YamlSequenceNode { Children.Count: 0 }:
                throw new MergekitConfigException(path, "an empty list gives no value");
            case YamlSequenceNode list when list.Children.All(c => c is YamlScalarNode):
                return new ParameterSetting { Gradient = [.. list.Children.Select((c, i) => Number(c, $"{path}[{i}]"))] };
            case YamlSequenceNode list when list.Children.All(c => c is YamlMappingNode):
                var conditionals = new List<(string?, ParameterSetting)>();
                for (var i = 0; i < list.Children.Count; i++)
                {
                    var at = $"{path}[{i}]";
                    var entry = Keys(list.Children[i], at);
                    foreach (var key in entry.Keys.Where(k => k is not ("filter" or "value")))
                        throw new MergekitConfigException($"{at}.{key}", "unknown key; a conditional has filter and value");
                    var value = Required(entry, "value", at);
                    if (value is YamlMappingNode || (value is YamlSequenceNode inner && inner.Children.Any(c => c is not YamlScalarNode)))
                        throw new MergekitConfigException($"{at}.value", "must be a number or a gradient list of numbers");
                    conditionals.Add((entry.TryGetValue("filter", out var filter) ? Text(filter, $"{at}.filter") : null, Setting(value, $"{at}.value")));
                }

                return new ParameterSetting { Conditionals = conditionals };
            case YamlMappingNode:
                throw new MergekitConfigException(path, "a { filter, value } conditional must be inside a list, as mergekit requires");
            default:
                throw new MergekitConfigException(path, "a list must hold numbers (a gradient) or { filter, value } entries, not both");
        }
    }

    private static string Dtype(YamlNode node, string path)
    {
        var name = Text(node, path);
        var bare = name.StartsWith("torch.", StringComparison.Ordinal) ? name["torch.".Length..] : name;
        return bare switch
        {
            "float16" => "F16",
            "bfloat16" => "BF16",
            "float32" => "F32",
            _ => throw new MergekitConfigException(path, $"'{name}' is not a dtype mergekit writes: float16, bfloat16 or float32"),
        };
    }
}
