//! `completions`: shell completion scripts from the clap definition.

use crate::error::{Exit, Result};

use super::Context;

/// Print a shell completion script
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    context.output.raw(&script(args.shell));
    Ok(Exit::Success)
}

/// The completion script for `shell`, as checked in under completions/.
pub fn script(shell: clap_complete::Shell) -> String {
    let mut buffer = Vec::new();
    clap_complete::generate(shell, &mut super::command(), "kvmguestctl", &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}
