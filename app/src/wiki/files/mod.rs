//! Files on pages (attachments): the list and upload form (`listing`), uploads streamed into
//! storage (`upload`), downloads with ranges and the serving rules that keep hostile files from
//! running on the wiki's origin (`download`), and each file's versions: history, delete, restore
//! (`versions`).
//!
//! Rights come from the page, as the route table states: reading the page lists and downloads its
//! files, writing uploads and restores, deleting deletes. A file is never changed in place: every
//! upload, deletion and restoration is a new version, and old versions stay downloadable.

mod download;
mod listing;
pub(crate) mod upload;
mod versions;

use gateway::HttpError;
use storage::{FileContent, FileVersion};

use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::routes::FileRoute;
use crate::wiki::{Wiki, WikiError};

impl Wiki {
    /// The version of a file a request names (`?v=N`, or the current one) and its content: 404
    /// when the file does not exist, or that version is a deletion.
    fn file_version(
        &self,
        file: &FileRoute,
        version: Option<u64>,
    ) -> Result<(FileVersion, FileContent), WikiError> {
        let missing = || WikiError::from(missing_file(&file.page, &file.name, version));
        let mut found = self
            .storage
            .file(file.page.as_str(), file.name.as_str(), version)?
            .ok_or_else(missing)?;
        let content = found.content.take().ok_or_else(missing)?;
        Ok((found, content))
    }
}

/// The 404 of a file that is not there.
fn missing_file(page: &PageName, name: &FileName, version: Option<u64>) -> HttpError {
    match version {
        Some(version) => HttpError::not_found(format!(
            "{page} has no file called {name} at version {version}."
        )),
        None => HttpError::not_found(format!("{page} has no file called {name}.")),
    }
}

/// A limit in the units people configure it in: `64 MiB`.
pub(crate) fn human_limit(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;
    match bytes {
        b if b >= GIB && b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_people_configure_them() {
        assert_eq!(human_limit(64 * 1024 * 1024), "64 MiB");
        assert_eq!(human_limit(10 * 1024 * 1024 * 1024), "10 GiB");
        assert_eq!(human_limit(1000), "1000 bytes");
    }
}
