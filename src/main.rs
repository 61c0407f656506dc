//! The `docmatrix` binary: all the work is in the library; the CLI layer is `cli.rs`.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
