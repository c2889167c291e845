using System.CommandLine;

namespace Soup.Cli.Commands;

/// <summary>The <c>pipeline</c> command line.</summary>
public static class CliApp
{
    /// <summary>The exit code of every usage error (an unknown option, a missing or unparsable value), whatever the command.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Parses and runs <paramref name="args"/>. Usage errors are answered here, for every command alike: one line each on
    /// <paramref name="error"/>, naming the command and the option, no stack trace, exit code <see cref="UsageError"/>.
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var parse = Build().Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            var command = string.Join(" ", parse.CommandResult.Command.Name == "pipeline" ? ["pipeline"] : (string[])["pipeline", .. CommandPath(parse.CommandResult)]);
            foreach (var problem in parse.Errors)
                await error.WriteLineAsync($"{command}: {problem.Message.ReplaceLineEndings(" ").Trim()}");
            return UsageError;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var current = result; current is not null && current.Parent is not null; current = current.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(current.Command.Name);
        return names;
    }

    /// <summary>Builds the root command with its sub-commands.</summary>
    public static RootCommand Build()
    {
        var spec = new Argument<FileInfo?>("spec")
        {
            Description = "The pipeline spec (JSON). Without it, the embedded quickstart spec runs (Fashion-MNIST, 2 rounds of 4 members).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var dataRoot = new Option<DirectoryInfo?>("--data-root")
        {
            Description = "Folder holding one folder of IDX files per dataset (default: $DataRoot or /usr/share/datasets).",
        };
        var workers = new Option<int>("--workers")
        {
            Description = "Job workers run inside this process (0: rely on external workers).",
            DefaultValueFactory = _ => 1,
        };
        var output = new Option<FileInfo?>("--output") { Description = "Also write the pipeline's result as JSON to this file." };
        var report = new Option<FileInfo?>("--report") { Description = "Also write the pipeline's report (one self-contained HTML page with plots) to this file." };

        var verbose = new Option<bool>("--verbose") { Description = "Print the engine's and the workers' logs." };
        var run = new Command("run", "Run a pipeline locally on the Durable Task engine against Azurite, printing progress and a results table.")
        {
            spec, dataRoot, workers, output, verbose, report,
        };
        run.SetAction((parse, cancellationToken) => RunCommand.ExecuteAsync(
            new RunCommandArgs(parse.GetValue(spec), parse.GetValue(dataRoot), parse.GetValue(workers), parse.GetValue(output), parse.GetValue(verbose), parse.GetValue(report)),
            Console.Out,
            cancellationToken));

        var validateSpec = new Argument<FileInfo>("spec") { Description = "The pipeline spec (JSON) to check." };
        var validate = new Command("validate", "Check a spec and list every problem with its JSON path; starts nothing.") { validateSpec };
        validate.SetAction(parse => ValidateCommand.Execute(parse.GetValue(validateSpec)!, Console.Out));

        var root = new RootCommand("pipeline: fine-tune many copies of a model in parallel and average their weights (model soups).")
        {
            run, validate, SchemaCommand(), MergeCommand.Build(), BenchCommand.Build(), ServeCommand.Build(), RetentionCommand.Build(), PairsCommand.Build(),
        };
        foreach (var command in PipelineCommands.Build())
            root.Subcommands.Add(command);
        return root;
    }

    private static Command SchemaCommand()
    {
        var schema = new Command("schema", "Print the JSON Schema of the pipeline spec (the file schema/pipeline.schema.json).");
        schema.SetAction(_ =>
        {
            Console.Out.Write(Soup.Core.Specs.SpecSchema.Json());
            return 0;
        });
        return schema;
    }
}
