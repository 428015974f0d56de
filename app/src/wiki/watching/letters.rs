//! Mail about watched pages: the queue drained in rounds, each letter checked against the
//! account's rights and written as plain text and HTML.
//!
//! **Read rights are checked when a letter is written, not when it was queued.** A letter may wait
//! (a digest a day, retries for hours) while an `#acl` line changes or an account is disabled; the
//! check that counts is the last one before the text leaves the wiki. A change the account may no
//! longer read is left out of its letter (and a letter left with nothing is dropped), by
//! `Access::can_read_history`, since a letter shows the page's past: a diff and a comment.
//!
//! A letter holds for each change its kind, author and comment, absolute links to the page and to
//! the diff, and a short diff made by the diff views' own code (`history::diff_rows`), bounded to
//! [`DIFF_ROWS`] rows of at most [`DIFF_LINE_CHARS`] characters; the rest is behind the link.
//! Links start with `base_url` (else the origin the last save in this process came by, else
//! `http://localhost`) and the mount (`mount`, else the last save's, else none): a process that
//! saw no request, such as `quire notify`, needs `base_url` and `mount` in `quire.toml`.

use std::sync::Mutex;
use std::time::Duration;

use pulldown_cmark_escape::escape_html;
use storage::{Change, ChangeKind, Letter, Retry};

use crate::mail::{Mail, MailError};
use crate::wiki::history::diff_rows::{diff, DiffOptions};
use crate::wiki::plumbing::access::Access;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::urls::Urls;
use crate::wiki::plumbing::viewer::Viewer;
use crate::wiki::{Exchange, Wiki, WikiError};

/// The most diff rows a change shows in a mail.
pub const DIFF_ROWS: usize = 40;
/// The most characters of one diff line a mail shows.
pub const DIFF_LINE_CHARS: usize = 200;
/// The most letters one round takes from the queue.
const ROUND: usize = 100;
/// How long a round starts new letters: half the claim on them (`storage::LEASE_SECS`), so that
/// the letter in flight when it ends (each SMTP step bounded by `mail::TIMEOUT`) is done before
/// the claim runs out and another process could send the same letter. The letters not started
/// stay claimed and go out once the claim ends.
const ROUND_TIME: std::time::Duration =
    std::time::Duration::from_secs(storage::LEASE_SECS.unsigned_abs() / 2);

/// What one round of sending did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MailRound {
    /// Rows the queue gained from new revisions.
    pub queued: u64,
    /// Letters sent.
    pub sent: u64,
    /// Letters that failed and wait for another attempt.
    pub failed: u64,
    /// Letters given up after their last attempt.
    pub gave_up: u64,
    /// Letters dropped because the account may read none of their changes.
    pub dropped: u64,
    /// Letters left for a later round: this one ran out of time (a slow SMTP server).
    pub left: u64,
}

/// Where links in mail start, as the last save in this process saw it.
#[derive(Debug, Default)]
pub(crate) struct SeenOrigin(Mutex<Option<(String, String)>>);

impl Wiki {
    /// Remembers where `exchange` came from, for the links of mail this process sends later.
    pub(crate) fn saw_origin(&self, exchange: &Exchange) {
        if !self.mail_on() {
            return;
        }
        let seen = (
            self.origin(&exchange.request),
            exchange.request.mount().to_owned(),
        );
        if let Ok(mut kept) = self.seen_origin.0.lock() {
            *kept = Some(seen);
        }
    }

    /// Whether `[mail]` names a host: without one, nothing is queued or sent.
    pub(crate) fn mail_on(&self) -> bool {
        self.settings.mail.host.is_some()
    }

    /// The origin and the URLs under the mount that mail links start with.
    fn mail_links(&self) -> (String, Urls) {
        let seen = self.seen_origin.0.lock().ok().and_then(|kept| kept.clone());
        let origin = self
            .settings
            .base_url
            .clone()
            .or_else(|| seen.as_ref().map(|(origin, _)| origin.clone()))
            .unwrap_or_else(|| "http://localhost".to_owned());
        let mount = self
            .settings
            .mount
            .clone()
            .or_else(|| seen.map(|(_, mount)| mount))
            .unwrap_or_default();
        (origin, Urls::new(&mount))
    }

    /// One round of mail: queues what the revisions since the last round owe, then writes and
    /// sends (through `send`) every letter due at `now` (unix seconds), and records each outcome.
    /// A letter that fails waits for its next attempt; the round goes on with the others.
    pub fn send_mail(
        &self,
        now: i64,
        send: &mut dyn FnMut(&Mail) -> Result<(), MailError>,
    ) -> Result<MailRound, WikiError> {
        let mut round = MailRound {
            queued: self.storage.queue_mail(now)?,
            ..MailRound::default()
        };
        let letters = self.storage.due_mail(now, ROUND)?;
        if letters.is_empty() {
            return Ok(round);
        }
        let (origin, urls) = self.mail_links();
        let deadline = std::time::Instant::now() + ROUND_TIME;
        let total = letters.len() as u64;
        for (done, letter) in letters.into_iter().enumerate() {
            if done > 0 && std::time::Instant::now() >= deadline {
                round.left = total - done as u64;
                tracing::warn!(
                    left = round.left,
                    "the mail server is slow: letters left for the next round"
                );
                break;
            }
            let viewer = Viewer::account(&letter.to, "mail".to_owned());
            let access = self.access(&viewer)?;
            let Some(mail) = self.write_letter(&letter, &access, &origin, &urls)? else {
                self.storage.mail_sent(&letter.rows)?;
                round.dropped += 1;
                continue;
            };
            match send(&mail) {
                Ok(()) => {
                    self.storage.mail_sent(&letter.rows)?;
                    tracing::info!(account = %letter.to.name, changes = letter.changes.len(), "mail sent");
                    round.sent += 1;
                }
                Err(err) => {
                    let retry = self.storage.mail_failed(
                        &letter.rows,
                        letter.attempts,
                        now,
                        &err.to_string(),
                    )?;
                    match retry {
                        Retry::At(due) => {
                            tracing::warn!(account = %letter.to.name, error = %err, retry_in = due - now, "mail not sent; it will be tried again");
                            round.failed += 1;
                        }
                        Retry::GaveUp => {
                            tracing::error!(account = %letter.to.name, error = %err, attempts = letter.attempts + 1, "mail not sent; given up");
                            round.gave_up += 1;
                        }
                    }
                }
            }
        }
        Ok(round)
    }

    /// The mail `letter` becomes, holding only the changes `access` may read; `None` if that
    /// leaves none (or the account has no address any more, or was disabled).
    fn write_letter(
        &self,
        letter: &Letter,
        access: &Access<'_>,
        origin: &str,
        urls: &Urls,
    ) -> Result<Option<Mail>, WikiError> {
        if letter.to.disabled || letter.to.email.is_empty() {
            return Ok(None);
        }
        let mut text = String::new();
        let mut html = String::new();
        let mut shown = 0;
        let mut first_subject = None;
        for change in &letter.changes {
            if !access.can_read_history(&change.meta.page) {
                continue;
            }
            let Ok(name) = PageName::parse(&change.meta.page) else {
                continue;
            };
            let written = self.write_change(change, &name, origin, urls)?;
            if shown > 0 {
                text.push_str("\n----\n\n");
                html.push_str("<hr>\n");
            }
            text.push_str(&written.text);
            html.push_str(&written.html);
            first_subject.get_or_insert(written.subject);
            shown += 1;
        }
        let Some(first_subject) = first_subject else {
            return Ok(None);
        };
        let site = &self.settings.site_name;
        let subject = if shown == 1 {
            format!("[{site}] {first_subject}")
        } else {
            format!("[{site}] {shown} changes to pages you watch")
        };
        let watching = format!("{origin}{}", urls.to(&crate::wiki::Route::Watching));
        text.push_str(&format!(
            "\n-- \nYou get this because you watch these pages on {site}.\nChange what you watch: {watching}\n"
        ));
        let mut page = String::from("<!DOCTYPE html>\n<html><body>\n");
        page.push_str(&html);
        page.push_str("<hr>\n<p><small>You get this because you watch these pages on ");
        escape_html(&mut page, site).ok();
        page.push_str(". <a href=\"");
        escape_html(&mut page, &watching).ok();
        page.push_str("\">Change what you watch</a>.</small></p>\n</body></html>\n");
        Ok(Some(Mail {
            to_name: letter.to.display_name.clone(),
            to_address: letter.to.email.clone(),
            subject,
            text,
            html: page,
        }))
    }

    /// One change: a line saying what happened, the comment, links, and its short diff.
    fn write_change(
        &self,
        change: &Change,
        name: &PageName,
        origin: &str,
        urls: &Urls,
    ) -> Result<WrittenChange, WikiError> {
        let meta = &change.meta;
        let what = match &meta.kind {
            ChangeKind::Edit if meta.rev == 1 => format!("{name} was created by {}", meta.author),
            ChangeKind::Edit => format!("{name} was changed by {}", meta.author),
            ChangeKind::Delete => format!("{name} was deleted by {}", meta.author),
            ChangeKind::Undelete => format!("{name} was brought back by {}", meta.author),
            ChangeKind::Rename { from } => {
                format!("{from} was renamed to {name} by {}", meta.author)
            }
        };
        let page_url = format!("{origin}{}", urls.page(name));
        let diff_url =
            (meta.rev > 1).then(|| format!("{origin}{}", urls.diff(name, meta.rev - 1, meta.rev)));
        let rows = match meta.kind {
            ChangeKind::Edit | ChangeKind::Undelete | ChangeKind::Delete => {
                self.short_diff(name, meta.rev)?
            }
            ChangeKind::Rename { .. } => ShortDiff::default(),
        };

        let mut text = format!("{what}, revision {}.\n", meta.rev);
        if !meta.comment.is_empty() {
            text.push_str(&format!("Comment: {}\n", meta.comment));
        }
        text.push_str(&format!("Page: {page_url}\n"));
        if let Some(diff_url) = &diff_url {
            text.push_str(&format!("Diff: {diff_url}\n"));
        }
        if !rows.lines.is_empty() {
            text.push('\n');
            for (sign, line) in &rows.lines {
                text.push_str(&format!("{sign}{line}\n"));
            }
        }
        if rows.more {
            text.push_str("[…the rest is in the diff]\n");
        }

        let mut html = String::from("<p><strong>");
        escape_html(&mut html, &what).ok();
        html.push_str(&format!("</strong>, revision {}.", meta.rev));
        if !meta.comment.is_empty() {
            html.push_str("<br>Comment: <em>");
            escape_html(&mut html, &meta.comment).ok();
            html.push_str("</em>");
        }
        html.push_str("<br><a href=\"");
        escape_html(&mut html, &page_url).ok();
        html.push_str("\">View the page</a>");
        if let Some(diff_url) = &diff_url {
            html.push_str(" · <a href=\"");
            escape_html(&mut html, diff_url).ok();
            html.push_str("\">See the whole diff</a>");
        }
        html.push_str("</p>\n");
        if !rows.lines.is_empty() {
            html.push_str("<pre style=\"white-space: pre-wrap\">");
            for (sign, line) in &rows.lines {
                let style = match *sign {
                    "+" => " style=\"color: #11691f\"",
                    "-" => " style=\"color: #a61b1b\"",
                    "@" => " style=\"color: #555\"",
                    _ => "",
                };
                html.push_str(&format!("<span{style}>"));
                escape_html(&mut html, sign).ok();
                escape_html(&mut html, line).ok();
                html.push_str("</span>\n");
            }
            html.push_str("</pre>\n");
        }
        if rows.more {
            html.push_str("<p>…the rest is in the diff.</p>\n");
        }
        Ok(WrittenChange {
            subject: what,
            text,
            html,
        })
    }

    /// The first [`DIFF_ROWS`] rows of the diff from the revision before `rev` to `rev`.
    fn short_diff(&self, name: &PageName, rev: u64) -> Result<ShortDiff, WikiError> {
        let Some(new) = self.storage.revision(name.as_str(), rev)? else {
            return Ok(ShortDiff::default());
        };
        let old = match rev {
            0 | 1 => String::new(),
            _ => self
                .storage
                .revision(name.as_str(), rev - 1)?
                .map(|revision| revision.text)
                .unwrap_or_default(),
        };
        let options = DiffOptions {
            context: 1,
            max_rows: DIFF_ROWS,
            offset: 0,
            time_budget: Duration::from_millis(100),
        };
        let drawn = diff(&old, &new.text, &options);
        let lines = drawn
            .lines
            .iter()
            .map(|line| {
                let sign = match line.kind {
                    "added" => "+",
                    "removed" => "-",
                    "hunk" => "@",
                    _ => " ",
                };
                let whole: String = line.segments.iter().map(|s| s.text.as_str()).collect();
                let whole = whole.trim_end_matches(['\n', '\r']);
                let mut cut: String = whole.chars().take(DIFF_LINE_CHARS).collect();
                if cut.len() < whole.len() {
                    cut.push('…');
                }
                (sign, cut)
            })
            .collect();
        Ok(ShortDiff {
            lines,
            more: drawn.next_offset.is_some(),
        })
    }
}

/// One change as a mail shows it.
struct WrittenChange {
    subject: String,
    text: String,
    html: String,
}

/// The rows a mail shows of a change's diff: each a sign (`+`, `-`, `@` for a hunk's header,
/// space for context) and the line.
#[derive(Default)]
struct ShortDiff {
    lines: Vec<(&'static str, String)>,
    /// Whether the diff goes on past them.
    more: bool,
}
