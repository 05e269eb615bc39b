//! The kubectl plugin: kubectl runs `kubectl-iredmail_ports` from PATH for
//! `kubectl iredmail-ports …`. It is the same program as `iredmail-ports`, compiled from
//! the same main.rs; started under this name it runs the `cluster` command.

#[path = "../main.rs"]
mod app;

fn main() -> std::process::ExitCode {
    app::main()
}
