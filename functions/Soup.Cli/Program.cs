using Soup.Cli.Commands;

return await CliApp.InvokeAsync(args, Console.Out, Console.Error);
