using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Soup.Merging.Checkpoints;
using Soup.Training.Models;

namespace Soup.Training.Tests;

/// <summary>
/// Runs <see cref="PyTorchReferenceScript"/> with Debian's python3-torch and python3-torchvision, in a temp folder.
/// Fails the test, saying what to install, when torch or torchvision cannot be imported.
/// </summary>
internal sealed class PyTorchReference : IDisposable
{
    public const string Python = "/usr/bin/python3";

    private readonly TempFolder _folder = new();
    private readonly string _script;

    /// <param name="script">The Python script (default: the image models' <see cref="PyTorchReferenceScript"/>).</param>
    public PyTorchReference(string? script = null)
    {
        _script = _folder.File("reference.py");
        System.IO.File.WriteAllText(_script, script ?? PyTorchReferenceScript.Text);
    }

    public string File(string name) => _folder.File(name);

    /// <summary>The script's model spec, e.g. <c>resnet18:3:5</c>.</summary>
    public static string Spec(string model, ModelShape shape) => $"{model}:{shape.Channels}:{shape.Classes}";

    /// <summary>Each spec's reference state dict as "name [shape] dtype" lines, in PyTorch's order.</summary>
    public Dictionary<string, List<string>> StateDictEntries(params string[] specs)
    {
        var output = File("keys.json");
        Run(["keys", output, .. specs]);
        using var json = JsonDocument.Parse(System.IO.File.ReadAllBytes(output));
        return json.RootElement.EnumerateObject().ToDictionary(
            spec => spec.Name,
            spec => spec.Value.EnumerateArray()
                .Select(e => Entry(e[0].GetString()!, e[1].EnumerateArray().Select(d => d.GetInt64()), e[2].GetString()!))
                .ToList());
    }

    public static string Entry(string name, IEnumerable<long> shape, string dtype) => $"{name} [{string.Join(", ", shape)}] {dtype}";

    public void Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(_script);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"{Python} cannot run ({e.Message}); the PyTorch reference needs Debian's python3-torch and python3-torchvision.");
            return;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"The PyTorch reference ({string.Join(' ', arguments)}) ran for over 3 minutes.");
            }
            var errors = stderr.GetAwaiter().GetResult();
            _ = stdout.GetAwaiter().GetResult();
            if (process.ExitCode == 3)
                Assert.Fail($"{errors.Trim()} Install Debian's python3-torch and python3-torchvision (torch 1.13, torchvision 0.14).");
            if (process.ExitCode != 0)
                Assert.Fail($"The PyTorch reference ({string.Join(' ', arguments)}) exited with {process.ExitCode}:\n{errors}");
        }
    }

    public static void WriteSafetensors(string path, IEnumerable<TensorData> tensors)
    {
        using var stream = System.IO.File.Create(path);
        Safetensors.Write(stream, tensors);
    }

    public static TensorData ReadTensor(string path, string name)
    {
        var content = Safetensors.Read(System.IO.File.ReadAllBytes(path), path);
        return Assert.Single(content.Tensors, t => t.Name == name);
    }

    public void Dispose() => _folder.Dispose();
}
