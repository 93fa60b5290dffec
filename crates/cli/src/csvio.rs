use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

#[derive(clap::Args)]
pub struct ImportArgs {}
#[derive(clap::Args)]
pub struct ExportArgs {}

pub fn import(_data: &Path, _a: ImportArgs) -> Result<ExitCode> {
    anyhow::bail!("not yet")
}
pub fn export(_data: &Path, _a: ExportArgs) -> Result<ExitCode> {
    anyhow::bail!("not yet")
}
