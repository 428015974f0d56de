//! `quire export markdown DIR`: the current pages as `.md` files in folders, each page's files in
//! the `.files` folder beside it ([`super::layout`]), and links rewritten so the folder reads on a
//! forge or in an editor: `[[Other Page|label]]` becomes `[label](../Other%20Page.md)`,
//! `{{attachment:x.png}}` becomes `![x.png](Page.files/x.png)`, relative to the page's own folder
//! (`markup::rewrite_links`; code is never touched). A link to a page or file that does not exist
//! is kept as written, as the wiki shows it as missing too. Deleted pages and history are left out:
//! `quire export git` has those.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use anyhow::Context;
use markup::{LinkTarget, RenderOptions};
use percent_encoding::{utf8_percent_encode, AsciiSet};
use storage::Storage;

use super::{layout, Kind, Summary};

/// What is percent-encoded in a link destination: what may not stand in a URI path, and the
/// parentheses that would end a Markdown destination. `%` is among them, as the escaped names
/// ([`layout::escape_segment`]) hold `%XX` that must stay literal.
const IN_LINK: &AsciiSet = &gateway::uri::PATH_ESCAPES.add(b'(').add(b')');

/// Writes every current page and its files into `dir` (see [`super::prepare`]); `progress` hears
/// (pages done, pages in all).
pub fn export(
    storage: &Storage,
    dir: &Path,
    options: &RenderOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> anyhow::Result<Summary> {
    super::prepare(dir, Kind::Markdown)?;
    super::mark(dir, Kind::Markdown)?;
    let names = storage.page_names().context("could not list the pages")?;
    let pages: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut files = HashSet::new();
    let mut attachments = Vec::with_capacity(names.len());
    for name in &names {
        let list = storage
            .attachments(name)
            .with_context(|| format!("could not list the files of {name}"))?;
        files.extend(list.iter().map(|a| (name.clone(), a.current.name.clone())));
        attachments.push(list);
    }
    let total = names.len() as u64;
    let mut summary = Summary::default();
    let mut authors = BTreeSet::new();
    for (done, (name, list)) in names.iter().zip(attachments).enumerate() {
        let Some(current) = storage
            .current(name)
            .with_context(|| format!("could not read page {name}"))?
        else {
            continue; // deleted since the list was made
        };
        let here = layout::page_path(name);
        let url = |target: LinkTarget<'_>| -> Option<String> {
            let (path, anchor) =
                match target {
                    LinkTarget::Page { name, anchor } => pages
                        .contains(name)
                        .then(|| (layout::page_path(name), anchor))?,
                    LinkTarget::File(file) => files
                        .contains(&(file.page.clone(), file.name.clone()))
                        .then(|| (layout::file_path(&file.page, &file.name), None))?,
                };
            let mut href = relative(&here, &path);
            if let Some(anchor) = anchor {
                href.push('#');
                href.extend(utf8_percent_encode(anchor, IN_LINK));
            }
            Some(href)
        };
        let text = markup::rewrite_links(&current.text, name, options, &url);
        super::write_file(dir, &here, &mut text.as_bytes())?;
        authors.insert(current.meta.author);
        summary.pages += 1;
        summary.revisions += 1;
        for attachment in list {
            let file = &attachment.current;
            let Some(content) = &file.content else {
                continue;
            };
            let mut blob = storage
                .open_blob(&content.hash)
                .with_context(|| format!("could not read file {} of {name}", file.name))?;
            super::write_file(dir, &layout::file_path(name, &file.name), &mut blob)?;
            authors.insert(file.uploader.clone());
            summary.files += 1;
        }
        progress(done as u64 + 1, total);
    }
    summary.users = authors.len() as u64;
    Ok(summary)
}

/// The URL of the `/`-separated path `to` from the file at `from` (both relative to the export's
/// root): `../` for each folder `from` is in that `to` is not, then the rest, each segment
/// percent-encoded.
fn relative(from: &str, to: &str) -> String {
    let from_folders: Vec<&str> = from.split('/').collect();
    let from_folders = &from_folders[..from_folders.len() - 1];
    let to_segments: Vec<&str> = to.split('/').collect();
    let (to_folders, _) = to_segments.split_at(to_segments.len() - 1);
    let shared = from_folders
        .iter()
        .zip(to_folders)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from_folders.len() - shared];
    parts.extend(
        to_segments[shared..]
            .iter()
            .map(|segment| utf8_percent_encode(segment, IN_LINK).to_string()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_to_the_page_folder() {
        let cases = [
            ("Home.md", "Other Page.md", "Other%20Page.md"),
            ("Team/Notes.md", "Other Page.md", "../Other%20Page.md"),
            ("Team/Notes.md", "Team/Plans.md", "Plans.md"),
            ("Team.md", "Team/Plans.md", "Team/Plans.md"),
            ("A/B/C.md", "A/X/Y.md", "../X/Y.md"),
            ("Home.md", "Home.files/a b.png", "Home.files/a%20b.png"),
            ("Home.md", "a%3Ab.md", "a%253Ab.md"),
            ("Home.md", "Café (1).md", "Caf%C3%A9%20%281%29.md"),
        ];
        for (from, to, expected) in cases {
            assert_eq!(relative(from, to), expected, "{from} → {to}");
        }
    }
}
