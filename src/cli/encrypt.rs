//! `encrypt`: encrypt the RHEV engine password for RHEVMInfo.Password.

use crate::error::{Exit, Result};
use crate::render::Format;
use crate::secret;

use super::Context;

/// Encrypt a password for RHEVMInfo.Password (like VCS's vcsencrypt -agent)
#[derive(Debug, clap::Args)]
#[command(
    after_help = concat!(
        "Examples:\n",
        "  # Type the engine password twice; paste the output into RHEVMInfo.Password\n",
        "  kvmguestctl encrypt\n",
        "  # From a file, with another key\n",
        "  kvmguestctl --key-file /etc/kvmguestctl/site.key encrypt < /root/engine-password",
    ),
    long_about = "Encrypt the RHEV engine password for RHEVMInfo.Password, as VCS's \
vcsencrypt -agent does. The password is read from the terminal (typed twice, not echoed) or, \
without a terminal, from the first line of stdin; never from the command line. The output \
(enc:v1:...) goes into the YAML.\n\n\
The key is the file of --key-file (default /etc/kvmguestctl/secret.key), created on first use \
with mode 0600 in a 0700 directory. Every system that runs the resource needs the same key file: \
copy it with its mode. A key file that others can read is refused."
)]
pub struct Args {}

pub fn run(context: &Context, _args: &Args) -> Result<Exit> {
    let password = context.output.secret("RHEV engine password")?;
    let encrypted = secret::encrypt(&context.key_file, password.expose(), true)?;
    // The value is the whole point of the command: printed even with -q.
    match context.output.format {
        Format::Json => context.output.raw(&format!(
            "{}\n",
            serde_json::json!({ "encrypted": encrypted })
        )),
        Format::Table | Format::Tsv => context.output.raw(&format!("{encrypted}\n")),
    }
    context.output.note(&format!(
        "encrypted with {}; paste the line above as RHEVMInfo.Password",
        context.key_file.display()
    ));
    Ok(Exit::Success)
}
