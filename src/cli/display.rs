//! `display`: the resolved attributes of resources, like `hares -display`.

use crate::error::{Exit, Result};
use crate::resource::Resource;

use super::{Context, Selection};

/// Show resources' attributes with defaults filled in (the password is never shown)
#[derive(Debug, clap::Args)]
#[command(
    override_usage = concat!(
        "kvmguestctl display [OPTIONS] RESOURCE...\n",
        "       kvmguestctl display [OPTIONS] --all"
    ),
    after_help = concat!(
        "Examples:\n",
        "  # Every attribute of web_vm, defaults filled in\n",
        "  kvmguestctl --config examples/quickstart.yaml display web_vm\n",
        "  # All resources as JSON\n",
        "  kvmguestctl --config examples/quickstart.yaml display --all -o json",
    ),
)]
pub struct Args {
    #[command(flatten)]
    selection: Selection,
}

pub fn run(context: &Context, args: &Args) -> Result<Exit> {
    let config = context.config()?;
    let resources = config.select(&args.selection.names, args.selection.all)?;
    let rows = resources
        .iter()
        .flat_map(|r| {
            r.attributes()
                .into_iter()
                .map(|(attribute, value)| vec![r.name.clone(), attribute, value])
        })
        .collect();
    #[derive(serde::Serialize)]
    struct Display<'a> {
        resources: &'a [&'a Resource],
    }
    context.output.emit(
        &Display {
            resources: &resources,
        },
        &["RESOURCE", "ATTRIBUTE", "VALUE"],
        rows,
    );
    Ok(Exit::Success)
}
