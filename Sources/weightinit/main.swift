import ArgumentParser

/// `weightinit`: PyTorch + MMEngine-exact initialized weights, offline (`init`, `plan`) or as a service (`serve`).
struct WeightInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weightinit",
        abstract: "Initialized model weights exactly as PyTorch 2.15 + MMEngine 0.10.7 produce them, streamed as a checkpoint.",
        subcommands: [Serve.self, InitCommand.self, PlanCommand.self],
        defaultSubcommand: Serve.self)
}

WeightInit.main()
