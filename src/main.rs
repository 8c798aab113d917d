//! The `lifeboat` binary: parses the command line and hands over to a front end: `cli` for one
//! command, `agent` for the tray agent.

mod agent;
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
