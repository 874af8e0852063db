//! `completions`: the script that registers the binary's own completion in a shell.

use crate::error::{Error, Exit, Result};

use super::Context;

/// Print a shell completion script
#[derive(Debug, clap::Args)]
#[command(
    after_help = concat!(
        "Examples:\n",
        "  # Install completion for bash, zsh and fish (see the README)\n",
        "  kvmguestctl completions bash > /usr/share/bash-completion/completions/kvmguestctl\n",
        "  kvmguestctl completions zsh > /usr/local/share/zsh/site-functions/_kvmguestctl\n",
        "  kvmguestctl completions fish > ~/.config/fish/completions/kvmguestctl.fish",
    ),
    long_about = "Print the script that registers kvmguestctl's completion in SHELL. At every \
TAB the shell asks the binary (found on PATH), which completes subcommands, options, and the \
resource and system names of the configuration the command line would read (its --config, else \
KVMGUESTCTL_CONFIG, else the default paths). bash, zsh and fish scripts are installed from \
completions/; see the README."
)]
pub struct Args {
    /// The shell
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let script = super::names::registration(&args.shell.to_string())
        .ok_or_else(|| Error::Usage(format!("no completion registration for {}", args.shell)))?;
    context.output.raw(&script);
    Ok(Exit::Success)
}
