//! The `lifeboat` binary: parses the command line and hands over to the front end in `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
