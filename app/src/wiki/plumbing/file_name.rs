//! File names, parsed once at the edge like page names.
//!
//! What an upload's name becomes is `media::name::clean_file_name`'s rule (the last component of a
//! browser's path, no `/`, `\`, control characters or leading dots, Unicode kept in NFC). A name in
//! a URL or a form must already be clean: one that cleaning would change names no stored file, so
//! it is refused rather than quietly read as another name.

use std::fmt;

/// Why text is not a file name.
#[derive(Debug, thiserror::Error)]
pub enum FileNameError {
    /// Nothing usable is left of it.
    #[error("{0}")]
    Unusable(#[from] media::name::NameError),
    /// It is not in the form the wiki stores names in.
    #[error("it is not a clean name (no slashes, control characters or leading dots)")]
    NotClean,
}

/// A clean file name: what storage keeps and URLs carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileName(String);

impl FileName {
    /// The name an upload is stored under: `raw`, as the browser sent it, cleaned.
    pub fn clean(raw: &str) -> Result<FileName, FileNameError> {
        Ok(FileName(media::name::clean_file_name(raw)?))
    }

    /// A name given in a URL or form, which must be clean already.
    pub fn parse(text: &str) -> Result<FileName, FileNameError> {
        let clean = FileName::clean(text)?;
        if clean.0 != text {
            return Err(FileNameError::NotClean);
        }
        Ok(clean)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_name_parses_as_it_is() {
        assert_eq!(
            FileName::parse("Über diagram.png").unwrap().as_str(),
            "Über diagram.png"
        );
    }

    #[test]
    fn names_cleaning_would_change_are_refused_in_urls_but_cleaned_on_upload() {
        for hostile in ["../../x", ".htaccess", "a\r\nb.txt", "dir\\x.png"] {
            assert!(FileName::parse(hostile).is_err(), "{hostile:?}");
        }
        assert_eq!(
            FileName::clean("C:\\Users\\a\\x.png").unwrap().as_str(),
            "x.png"
        );
        assert!(FileName::clean("..").is_err());
    }
}
