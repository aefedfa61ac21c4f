//! Container images for the real node: the sandbox (pause) image and the project's own images,
//! built by `hack/images/*.sh` from the repository's Dockerfiles with buildah (layers cached under
//! the cache directory, so warm calls take seconds).

use crate::binaries::repo_root;
use crate::{Error, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// An image built into an OCI archive, ready for [`crate::LocalCluster::load_image`].
#[derive(Debug, Clone)]
pub struct Image {
    /// The reference pods name it by, e.g. `localhost/tetris-game-server:1.0.0`.
    pub reference: String,
    /// The OCI archive.
    pub archive: PathBuf,
}

/// The pause image's archive (made on first use).
pub fn pause() -> Result<Image> {
    let out = script("hack/images/base-images.sh", &[], &[])?;
    let archive = out.lines().find_map(|l| l.strip_prefix("pause ")).ok_or_else(|| Error::Command {
        command: "hack/images/base-images.sh".into(),
        detail: "printed no `pause ARCHIVE` line".into(),
    })?;
    Ok(Image { reference: "localhost/tetris/pause:local".into(), archive: PathBuf::from(archive.trim()) })
}

/// Builds `Dockerfile.<what>` (`operator` or `game`) as `localhost/<image>:<tag>`; the game binary
/// reports `tag` as its version.
pub fn build(what: &str, tag: &str) -> Result<Image> {
    let out = script("hack/images/build.sh", &[what], &[("IMAGE_TAG", tag)])?;
    let line = out.lines().last().unwrap_or_default();
    let (reference, archive) = line.split_once(' ').ok_or_else(|| Error::Command {
        command: format!("hack/images/build.sh {what}"),
        detail: format!("unexpected output {line:?}"),
    })?;
    Ok(Image { reference: reference.into(), archive: PathBuf::from(archive) })
}

fn script(path: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let program = repo_root().join(path);
    let command = format!("{path} {}", args.join(" "));
    // stderr is inherited: a cold build takes minutes and says what it is doing.
    let out = Command::new(&program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::Command { command: command.clone(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(Error::Command { command, detail: format!("exited with {}", out.status) });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
