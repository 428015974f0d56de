//! A new repository's whole history, written commit by commit onto one branch: blobs, the trees of
//! each commit, and the commits, all into one pack ([`super::pack`]).
//!
//! The work tree of the last commit is kept in memory as a tree of folders, each knowing whether
//! it changed since it was last written. A commit writes only the trees on the paths it changed,
//! each as a delta on that same tree's previous version, which is the one entry added, replaced or
//! removed. The branch is set and checked out by git at the end.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::pack::{Kind, Oid, PackWriter, Placed};
use super::{output, GitError};

/// A person and a time, as a commit names its author and committer.
#[derive(Debug, Clone)]
pub struct Signature<'a> {
    /// The name (`<`, `>` and line breaks are dropped: git allows none of them).
    pub name: &'a str,
    /// The e-mail address (likewise).
    pub email: &'a str,
    /// Unix seconds UTC (a time before 1970 is written as 1970: commits cannot hold one).
    pub time: i64,
}

/// A change to a file in a [`History::commit`].
#[derive(Debug, Clone)]
pub enum FileChange<'a> {
    /// The file at this path has the blob of this mark.
    Modify {
        /// `/`-separated path.
        path: &'a str,
        /// The mark of a blob written before.
        mark: u64,
    },
    /// The file at this path is removed.
    Delete {
        /// `/`-separated path.
        path: &'a str,
    },
    /// The file (or folder) moves.
    Rename {
        /// From.
        from: &'a str,
        /// To.
        to: &'a str,
    },
}

/// A folder of the work tree.
#[derive(Default)]
struct Tree {
    /// Files by name.
    files: BTreeMap<Vec<u8>, Oid>,
    /// Folders by name with `/` after it: git orders a tree's entries so, and the two maps are
    /// merged in that order when the tree is written.
    folders: BTreeMap<Vec<u8>, Tree>,
    /// Its id, or `None` when it changed since it was written.
    oid: Option<Oid>,
    /// Its bytes when last written, and where: the base of its next delta.
    written: Option<(Placed, Vec<u8>)>,
}

/// What a path names: a file's blob, or a whole folder.
enum Node {
    File(Oid),
    Folder(Tree),
}

impl Tree {
    /// The folder at `path` below this one, made if missing (a file in the way is replaced, as in
    /// git); every folder on the way is marked changed.
    fn folder_mut(&mut self, path: &[&str]) -> &mut Tree {
        self.oid = None;
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        self.files.remove(first.as_bytes());
        self.folders
            .entry(folder_key(first))
            .or_default()
            .folder_mut(rest)
    }

    /// Puts `node` at `path` (a file replaces a folder of the same name, and the other way round).
    fn insert(&mut self, path: &[&str], node: Node) {
        let Some((name, folders)) = path.split_last() else {
            return;
        };
        let parent = self.folder_mut(folders);
        parent.files.remove(name.as_bytes());
        parent.folders.remove(&folder_key(name));
        match node {
            Node::File(oid) => {
                parent.files.insert(name.as_bytes().to_vec(), oid);
            }
            Node::Folder(tree) => {
                parent.folders.insert(folder_key(name), tree);
            }
        }
    }

    /// Takes the file or folder at `path` out, and any folder it leaves empty.
    fn remove(&mut self, path: &[&str]) -> Option<Node> {
        let (first, rest) = path.split_first()?;
        let key = folder_key(first);
        let removed = if rest.is_empty() {
            match self.files.remove(first.as_bytes()) {
                Some(oid) => Some(Node::File(oid)),
                None => self.folders.remove(&key).map(Node::Folder),
            }
        } else {
            let folder = self.folders.get_mut(&key)?;
            let removed = folder.remove(rest);
            if folder.files.is_empty() && folder.folders.is_empty() {
                self.folders.remove(&key);
            }
            removed
        };
        if removed.is_some() {
            self.oid = None;
        }
        removed
    }

    /// Writes this folder and every changed one below it; returns its id.
    fn store(&mut self, pack: &mut PackWriter) -> io::Result<Oid> {
        if let Some(oid) = self.oid {
            return Ok(oid);
        }
        let mut entries: Vec<(&[u8], &[u8], Oid)> =
            Vec::with_capacity(self.files.len() + self.folders.len());
        for (key, folder) in &mut self.folders {
            entries.push((key, b"40000", folder.store(pack)?));
        }
        entries.extend(
            self.files
                .iter()
                .map(|(name, oid)| (&name[..], &b"100644"[..], *oid)),
        );
        // Both maps are sorted; a stable sort of the two runs is a merge.
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut bytes = Vec::with_capacity(entries.len() * 48);
        for (key, mode, oid) in entries {
            let name = key.strip_suffix(b"/").unwrap_or(key);
            bytes.extend_from_slice(mode);
            bytes.push(b' ');
            bytes.extend_from_slice(name);
            bytes.push(0);
            bytes.extend_from_slice(&oid.0);
        }
        let oid = Oid::of(Kind::Tree, &bytes);
        let base = self
            .written
            .as_ref()
            .map(|(placed, base)| (*placed, &base[..]));
        let placed = pack.write(Kind::Tree, oid, &bytes, base)?;
        self.written = Some((placed, bytes));
        self.oid = Some(oid);
        Ok(oid)
    }
}

fn folder_key(name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(b'/');
    key
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|part| !part.is_empty()).collect()
}

/// A new repository being written: see the module's documentation.
pub struct History {
    dir: PathBuf,
    branch: String,
    pack: PackWriter,
    root: Tree,
    blobs: HashMap<u64, Oid>,
    /// Page texts by mark, until the page's next text is stored as a delta on one ([`History::text_blob`]).
    texts: HashMap<u64, (Placed, Vec<u8>)>,
    head: Option<Oid>,
}

impl History {
    /// `git init` in `dir` (with `branch` as the initial branch), and a pack to write into.
    pub fn start(dir: &Path, branch: &str) -> Result<History, GitError> {
        output(dir, &["init", "--quiet", "--initial-branch", branch])?;
        let pack = PackWriter::create(&dir.join(".git").join("objects")).map_err(io_error)?;
        Ok(History {
            dir: dir.to_owned(),
            branch: branch.to_owned(),
            pack,
            root: Tree::default(),
            blobs: HashMap::new(),
            texts: HashMap::new(),
            head: None,
        })
    }

    /// Writes a blob with the `len` bytes `content` reads, under `mark` (any number, each once),
    /// which a later [`FileChange::Modify`] names. For files: stored whole, and not kept.
    pub fn blob(&mut self, mark: u64, content: &mut dyn Read, len: u64) -> Result<(), GitError> {
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        content
            .take(len)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if bytes.len() as u64 != len {
            return Err(unexpected("a blob was shorter than its length"));
        }
        let oid = Oid::of(Kind::Blob, &bytes);
        self.pack
            .write(Kind::Blob, oid, &bytes, None)
            .map_err(io_error)?;
        self.blobs.insert(mark, oid);
        Ok(())
    }

    /// Writes a page's text as a blob under `mark`, as a delta on the blob of mark `previous` (the
    /// same page's text before, written by this method) when that is smaller: most edits change a
    /// few lines, so the pack holds little more than the changes, as git's own packs do. The text
    /// is kept until the next text names it as `previous`, so one text per page is in memory.
    /// Returns whether the text is the same as `previous`'s.
    pub fn text_blob(
        &mut self,
        mark: u64,
        text: &[u8],
        previous: Option<u64>,
    ) -> Result<bool, GitError> {
        let oid = Oid::of(Kind::Blob, text);
        let same = previous.is_some_and(|previous| self.blobs.get(&previous) == Some(&oid));
        let base = previous.and_then(|previous| self.texts.remove(&previous));
        let placed = self
            .pack
            .write(
                Kind::Blob,
                oid,
                text,
                base.as_ref().map(|(placed, bytes)| (*placed, &bytes[..])),
            )
            .map_err(io_error)?;
        self.blobs.insert(mark, oid);
        self.texts.insert(mark, (placed, text.to_vec()));
        Ok(same)
    }

    /// Writes a commit on the branch, after the previous one.
    pub fn commit(
        &mut self,
        who: &Signature<'_>,
        message: &str,
        changes: &[FileChange<'_>],
    ) -> Result<(), GitError> {
        for change in changes {
            match change {
                FileChange::Modify { path, mark } => {
                    let oid = *self
                        .blobs
                        .get(mark)
                        .ok_or_else(|| unexpected("a change names a blob never written"))?;
                    self.root.insert(&segments(path), Node::File(oid));
                }
                FileChange::Delete { path } => {
                    self.root.remove(&segments(path));
                }
                FileChange::Rename { from, to } => {
                    if let Some(node) = self.root.remove(&segments(from)) {
                        self.root.insert(&segments(to), node);
                    }
                }
            }
        }
        let tree = self.root.store(&mut self.pack).map_err(io_error)?;
        let name = clean(who.name);
        let email = clean(who.email);
        let time = who.time.max(0);
        let mut commit = format!("tree {}\n", tree.to_hex());
        if let Some(parent) = self.head {
            commit.push_str(&format!("parent {}\n", parent.to_hex()));
        }
        commit.push_str(&format!(
            "author {name} <{email}> {time} +0000\ncommitter {name} <{email}> {time} +0000\n\n{message}"
        ));
        let oid = Oid::of(Kind::Commit, commit.as_bytes());
        self.pack
            .write(Kind::Commit, oid, commit.as_bytes(), None)
            .map_err(io_error)?;
        self.head = Some(oid);
        Ok(())
    }

    /// Ends the pack, points the branch at the last commit, and checks it out into the work tree.
    pub fn finish(self) -> Result<(), GitError> {
        self.pack.finish().map_err(io_error)?;
        if let Some(head) = self.head {
            let branch = format!("refs/heads/{}", self.branch);
            output(&self.dir, &["update-ref", &branch, &head.to_hex()])?;
            output(&self.dir, &["reset", "--quiet", "--hard"])?;
        }
        Ok(())
    }
}

fn io_error(source: io::Error) -> GitError {
    GitError::Io {
        what: "pack writing".to_owned(),
        source,
    }
}

fn unexpected(detail: &str) -> GitError {
    GitError::Unexpected {
        what: "pack writing".to_owned(),
        detail: detail.to_owned(),
    }
}

/// A name or address without the characters a commit header cannot hold.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '<' | '>' | '\n' | '\r' | '\0'))
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        String::from_utf8(output(dir, args).unwrap()).unwrap()
    }

    fn who(time: i64) -> Signature<'static> {
        Signature {
            name: "Ann <x>",
            email: "ann@example.org",
            time,
        }
    }

    #[test]
    fn signatures_lose_what_git_refuses() {
        assert_eq!(clean(" a <b>\nc "), "a bc");
    }

    #[test]
    fn git_reads_back_a_history_with_folders_renames_deletions_and_long_delta_chains() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::start(dir.path(), "main").unwrap();
        let mut mark = 0;
        let mut blob = |history: &mut History, text: &str| {
            mark += 1;
            history
                .blob(mark, &mut text.as_bytes(), text.len() as u64)
                .unwrap();
            mark
        };
        // Texts of one page, each stored as a delta on the one before.
        let mut text = String::from("# A long page\n");
        for n in 0..60u64 {
            text.push_str(&format!(
                "Line {n} of a page that grows by one line per edit.\n"
            ));
            let previous = (n > 0).then_some(1000 + n - 1);
            let same = history
                .text_blob(1000 + n, text.as_bytes(), previous)
                .unwrap();
            assert!(!same, "a text that grew is not the same as the one before");
            let change = FileChange::Modify {
                path: "Long.md",
                mark: 1000 + n,
            };
            history
                .commit(&who(500 + n as i64), "grow\n", &[change])
                .unwrap();
        }
        // The same text again (an unchanged save) is told apart, and stored once.
        assert!(history
            .text_blob(1060, text.as_bytes(), Some(1059))
            .unwrap());
        // Enough pages for a big root tree, and enough commits for chains past MAX_DEPTH.
        for n in 0..150 {
            let text = format!("page {n}\n");
            let mark = blob(&mut history, &text);
            let path = format!("Page{n:03}.md");
            let change = FileChange::Modify { path: &path, mark };
            history
                .commit(&who(1000 + n), &format!("add {n}\n"), &[change])
                .unwrap();
        }
        let same = blob(&mut history, "page 7\n");
        let sub = blob(&mut history, "a sub page\n");
        history
            .commit(
                &who(2000),
                "sub\n",
                &[
                    FileChange::Modify {
                        path: "Page007.md",
                        mark: same,
                    },
                    FileChange::Modify {
                        path: "A/B c/D.md",
                        mark: sub,
                    },
                    FileChange::Modify {
                        path: "A.md",
                        mark: sub,
                    },
                ],
            )
            .unwrap();
        history
            .commit(
                &who(2001),
                "move\n",
                &[
                    FileChange::Rename {
                        from: "A/B c/D.md",
                        to: "E/F.md",
                    },
                    FileChange::Delete { path: "Page000.md" },
                ],
            )
            .unwrap();
        history.finish().unwrap();

        git(dir.path(), &["fsck", "--full", "--strict", "--no-dangling"]);
        let log = git(dir.path(), &["log", "--format=%an <%ae> %at %s"]);
        assert_eq!(log.lines().count(), 212);
        assert_eq!(
            log.lines().next(),
            Some("Ann x <ann@example.org> 2001 move")
        );
        let files = git(dir.path(), &["ls-files"]);
        assert!(files.contains("E/F.md\n") && files.contains("A.md\n"));
        assert!(!files.contains("A/B c") && !files.contains("Page000.md"));
        assert_eq!(files.lines().count(), 152);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Long.md")).unwrap(),
            text
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("E/F.md")).unwrap(),
            "a sub page\n"
        );
        let renames = git(
            dir.path(),
            &["show", "-M", "--name-status", "--format=", "HEAD"],
        );
        assert!(renames.contains("R100\tA/B c/D.md\tE/F.md"), "{renames}");
    }

    #[test]
    fn an_empty_history_leaves_an_empty_repository() {
        let dir = tempfile::tempdir().unwrap();
        History::start(dir.path(), "main")
            .unwrap()
            .finish()
            .unwrap();
        let packs = std::fs::read_dir(dir.path().join(".git/objects/pack")).unwrap();
        assert_eq!(packs.count(), 0);
    }
}
