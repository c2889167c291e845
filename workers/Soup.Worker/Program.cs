using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Soup.Core.Storage;
using Soup.Jobs;
using Soup.Training;

// The GPU container worker: takes fine-tuning and evaluation jobs from the queue until stopped. One job per GPU when
// CUDA is present, else WorkerParallelism jobs on the CPU. On SIGTERM (container preemption) a running job saves a
// resumption checkpoint and its message is released; ShutdownTimeout bounds how long that may take. With IdleShutdown
// set (the Container Apps job), it exits once the queue has stayed empty that long.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = builder.Configuration.GetValue("ShutdownTimeout", TimeSpan.FromSeconds(60)));
builder.Services.AddSoupJobs(builder.Configuration, DeviceSlots.Count(builder.Configuration.GetValue("WorkerParallelism", 1)));
using var host = builder.Build();
// Only what a worker uses: on Azure its identity may write the checkpoints container and the jobs queue, nothing else.
var storage = host.Services.GetRequiredService<SoupStorage>();
await storage.Checkpoints.CreateIfNotExistsAsync();
await storage.Jobs.CreateIfNotExistsAsync();
await host.RunAsync();
