using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core.Storage;
using Soup.Jobs;

// The GPU container worker: takes fine-tuning and evaluation jobs from the queue until stopped.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSoupJobs(builder.Configuration, builder.Configuration.GetValue("WorkerParallelism", 1));
using var host = builder.Build();
await host.Services.GetRequiredService<SoupStorage>().EnsureCreatedAsync();
await host.RunAsync();
