//! The identity of a loaded file set, so a worker on another host can tell whether its
//! folder holds the set a hunt was published for.
//!
//! It sits here, not in `crate::dataset`, because it needs a [`FileSet`] and the file
//! set already reads the data set's manifest: the data set keeps the [`Identity`] type
//! and what a manifest names, and knows nothing of file sets, so the two modules import
//! each other in one direction only.

use super::FileSet;
use crate::dataset::identity::Identity;
use crate::dataset::manifest::{self, Manifest};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

impl FileSet {
    /// The identity of these files: a generated set is named by its manifest (read
    /// again from the folder), a listed folder by its files' relative paths and sizes,
    /// in search order.
    pub fn identity(&self) -> Result<Identity> {
        match self {
            FileSet::Indexed { dir, .. } => {
                let path = dir.join(manifest::MANIFEST_NAME);
                let bytes = manifest::read_own_file(&path)?
                    .with_context(|| format!("{} vanished", path.display()))?;
                let m = Manifest::parse(manifest::utf8(&bytes, dir)?, dir)?;
                Ok(Identity::of_manifest(&m))
            }
            FileSet::Listed { paths, .. } => {
                let mut h = Sha256::new();
                let mut total = 0u64;
                for (i, p) in paths.iter().enumerate() {
                    let size = self.size(i as u64).unwrap_or(u64::MAX);
                    total = total.saturating_add(size);
                    h.update(p.as_bytes());
                    h.update([0]);
                    h.update(size.to_le_bytes());
                }
                Ok(Identity::from_digest(
                    &h.finalize(),
                    format!(
                        "a listed folder of {} files, {}",
                        paths.len(),
                        crate::units::bytes(total)
                    ),
                ))
            }
        }
    }
}
