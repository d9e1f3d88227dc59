using DirectFuse.Fuzz;

// directfuse-fuzz [--seconds N] [--seed S] [--requests N] [--out DIR] | --replay FILE
// Feeds generated and mutated requests through the real dispatcher; exit code 1 on the first finding.
int seconds = 60;
int? seed = null;
long requests = long.MaxValue;
string outDir = "fuzz-failures";
string? replay = null;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--seconds": seconds = int.Parse(Value()); break;
        case "--seed": seed = int.Parse(Value()); break;
        case "--requests": requests = long.Parse(Value()); break;
        case "--out": outDir = Value(); break;
        case "--replay": replay = Value(); break;
        default:
            Console.Error.WriteLine("usage: directfuse-fuzz [--seconds N] [--seed S] [--requests N] [--out DIR] | --replay FILE");
            return 2;
    }
}

if (replay is not null)
{
    var (target, recorded) = FuzzRunner.ReadFailureFile(replay);
    return FuzzRunner.Replay(target, recorded, Console.Out).Failure is null ? 0 : 1;
}

var result = FuzzRunner.Run(new FuzzOptions
{
    Seed = seed ?? Random.Shared.Next(),
    Duration = TimeSpan.FromSeconds(seconds),
    MaxRequests = requests,
    Log = Console.Out,
    FailureDirectory = outDir,
});
return result.Failure is null ? 0 : 1;
