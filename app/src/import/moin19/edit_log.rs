//! MoinMoin 1.9's edit-log: one line per change, in each page's folder and once more for the whole wiki.
//!
//! A line is nine tab-separated fields (`logfile/editlog.py`): the time in microseconds, the revision
//! (eight digits; `99999999` for attachment changes), the action, the quoted page name, the editor's
//! address and host name, their user id (empty when anonymous), an extra field (the old name of a
//! rename, the revision a revert went back to, an attachment's file name) and the comment. MoinMoin
//! pads short lines with empty fields, and so does this reader; a line whose time or revision is not a
//! number is skipped with a warning naming the file and line, never a reason to stop.

use std::collections::HashMap;

/// The revision number MoinMoin writes on attachment lines.
pub const ATTACHMENT_REV: u32 = 99_999_999;

/// What a line says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `SAVE`: a new revision of an existing page.
    Save,
    /// `SAVENEW`: the first revision of a page (or of a page created again after a deletion).
    SaveNew,
    /// `SAVE/REVERT`: a revision restoring an older one (`extra` is that one's number).
    Revert,
    /// `SAVE/RENAME`: the first revision under a new name (`extra` is the old name).
    Rename,
    /// `ATTNEW`: a file attached (`extra` is its name).
    AttachNew,
    /// `ATTDEL`: a file deleted.
    AttachDelete,
    /// `ATTDRW`: a drawing saved.
    AttachDrawing,
    /// Anything else, as written (`SAVE/DELETE` from other tools, actions of plugins).
    Other(String),
}

impl Action {
    fn parse(field: &str) -> Action {
        match field {
            "SAVE" => Action::Save,
            "SAVENEW" => Action::SaveNew,
            "SAVE/REVERT" => Action::Revert,
            "SAVE/RENAME" => Action::Rename,
            "ATTNEW" => Action::AttachNew,
            "ATTDEL" => Action::AttachDelete,
            "ATTDRW" => Action::AttachDrawing,
            other => Action::Other(other.to_owned()),
        }
    }
}

/// One line of an edit-log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditLogLine {
    /// When, in microseconds since the epoch.
    pub time_us: i64,
    /// The page revision, or [`ATTACHMENT_REV`].
    pub rev: u32,
    /// What happened.
    pub action: Action,
    /// The page's quoted (folder) name.
    pub page: String,
    /// The editor's address.
    pub addr: String,
    /// The editor's host name (often the address again).
    pub host: String,
    /// The editor's user id; empty when anonymous.
    pub user_id: String,
    /// The old name, the reverted-to revision, or the file name (see [`Action`]).
    pub extra: String,
    /// The editor's comment.
    pub comment: String,
}

impl EditLogLine {
    /// Unix seconds.
    pub fn time(&self) -> i64 {
        self.time_us.div_euclid(1_000_000)
    }

    /// Parses one line (without its line break); `Err` says what is wrong with it.
    pub fn parse(line: &str) -> Result<EditLogLine, &'static str> {
        let mut fields = line.split('\t');
        let mut next = || fields.next().unwrap_or("");
        let time_us = next()
            .trim()
            .parse()
            .map_err(|_| "its time is not a number")?;
        let rev = next()
            .trim()
            .parse()
            .map_err(|_| "its revision is not a number")?;
        let action = next();
        if action.is_empty() {
            return Err("it names no action");
        }
        let action = Action::parse(action);
        let page = next().to_owned();
        if page.is_empty() {
            return Err("it names no page");
        }
        Ok(EditLogLine {
            time_us,
            rev,
            action,
            page,
            addr: next().to_owned(),
            host: next().to_owned(),
            user_id: next().to_owned(),
            extra: next().to_owned(),
            comment: next().trim_end_matches('\r').to_owned(),
        })
    }

    /// Whether this line is about a page revision (not an attachment).
    pub fn is_revision(&self) -> bool {
        self.rev != ATTACHMENT_REV
    }
}

/// The lines of one edit-log, and the lines that could not be read (line number, why).
#[derive(Debug, Default)]
pub struct EditLog {
    /// The readable lines, in file order.
    pub lines: Vec<EditLogLine>,
    /// Each unreadable line: its number (from 1) and what is wrong with it.
    pub bad_lines: Vec<(usize, &'static str)>,
}

impl EditLog {
    /// Parses an edit-log's text; blank lines are skipped.
    pub fn parse(text: &str) -> EditLog {
        let mut log = EditLog::default();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match EditLogLine::parse(line) {
                Ok(parsed) => log.lines.push(parsed),
                Err(why) => log.bad_lines.push((index + 1, why)),
            }
        }
        log
    }

    /// The line of page revision `rev`; the last one if several (a revision written twice by a crash).
    pub fn revision(&self, rev: u32) -> Option<&EditLogLine> {
        self.lines
            .iter()
            .rev()
            .find(|line| line.is_revision() && line.rev == rev)
    }

    /// The latest `ATTNEW` line of the file `name`.
    pub fn attached(&self, name: &str) -> Option<&EditLogLine> {
        self.lines
            .iter()
            .rev()
            .find(|line| line.action == Action::AttachNew && line.extra == name)
    }

    /// Splits the wiki-wide edit-log by page (quoted name), keeping each page's lines in order.
    pub fn by_page(self) -> HashMap<String, EditLog> {
        let mut pages: HashMap<String, EditLog> = HashMap::new();
        for line in self.lines {
            pages.entry(line.page.clone()).or_default().lines.push(line);
        }
        pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_field_by_field() {
        let line = EditLogLine::parse(
            "1406278939161041\t00000003\tSAVE/REVERT\t(e8aeb8e58fafe58d8fe8aeae)\t76.19.9.189\tblan-hp-laptop\t1405902296.85.43837\t00000001\tback",
        )
        .unwrap();
        assert_eq!(line.time(), 1_406_278_939);
        assert_eq!(line.rev, 3);
        assert_eq!(line.action, Action::Revert);
        assert_eq!(line.page, "(e8aeb8e58fafe58d8fe8aeae)");
        assert_eq!(line.host, "blan-hp-laptop");
        assert_eq!(line.user_id, "1405902296.85.43837");
        assert_eq!(line.extra, "00000001");
        assert_eq!(line.comment, "back");
    }

    #[test]
    fn short_lines_are_padded_and_attachments_named() {
        let line = EditLogLine::parse(
            "1406006678939617\t99999999\tATTNEW\tFoo\t1.2.3.4\th\t\tFountain.png",
        )
        .unwrap();
        assert!(!line.is_revision());
        assert_eq!(line.action, Action::AttachNew);
        assert_eq!(line.extra, "Fountain.png");
        assert_eq!(line.comment, "");
        let log = EditLog::parse(
            "1\t00000001\tSAVENEW\tFoo\ta\th\t\t\t\n2\t99999999\tATTNEW\tFoo\ta\th\t\tx.png\t\n3\t99999999\tATTNEW\tFoo\ta\th\t\tx.png\tagain\n",
        );
        assert_eq!(log.attached("x.png").unwrap().comment, "again");
        assert_eq!(log.revision(1).unwrap().action, Action::SaveNew);
        assert!(log.revision(2).is_none());
    }

    #[test]
    fn malformed_lines_are_listed_not_fatal() {
        let log = EditLog::parse(
            "garbage\n\n1\t00000001\tSAVE\tFoo\n2\tx\tSAVE\tFoo\n3\t00000002\t\tFoo\n4\t00000003\tSAVE\t\n",
        );
        assert_eq!(log.lines.len(), 1);
        assert_eq!(
            log.bad_lines,
            [
                (1, "its time is not a number"),
                (4, "its revision is not a number"),
                (5, "it names no action"),
                (6, "it names no page"),
            ]
        );
    }

    #[test]
    fn the_wiki_log_splits_by_page() {
        let pages = EditLog::parse("1\t00000001\tSAVENEW\tA\t\t\t\t\t\n2\t00000001\tSAVENEW\tB\t\t\t\t\t\n3\t00000002\tSAVE\tA\t\t\t\t\t\n").by_page();
        assert_eq!(pages["A"].lines.len(), 2);
        assert_eq!(pages["B"].lines.len(), 1);
    }
}
