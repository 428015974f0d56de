//! Applying the anti-spam rules (`crate::spam`) to a save and a registration: the honeypot, the
//! per-address rate limits (in storage, so they hold across CGI processes), the bad-content lists
//! (`spam.bad_content` in quire.toml and the admins' list on /+admin) and the anonymous link limit.
//!
//! A rule that refuses says so in words: the caller shows the form again with everything kept and
//! the [`Refusal`]'s message, answering its status (422, or 429 with `Retry-After`).
//!
//! What is compared: a save is judged against the page's current text, the text it replaces, not its
//! editor's base revision: the base comes from the form, and a forged one (an old revision that held a
//! match) must not let the match back in. In the common case the two are the same revision.

use http::{header, HeaderValue, StatusCode};
use storage::{RateLimit, RateOutcome};

use crate::spam::{added_links, list_lines, BadContent, BadMatch, HONEYPOT_FIELD};
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::{Exchange, Wiki, WikiError};

/// The window of the per-hour limits.
const HOUR_SECS: i64 = 3600;

/// Why a save or a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The hidden field robots fill in was filled in.
    Honeypot,
    /// Too many saves or registrations from this address lately.
    RateLimited {
        /// Seconds until one more is allowed.
        retry_after: u64,
    },
    /// The save adds text a bad-content pattern matches.
    BadContent(BadMatch),
    /// An anonymous save adds more external links than allowed.
    TooManyLinks {
        /// How many it adds.
        added: usize,
        /// `spam.anonymous_max_links`.
        max: usize,
    },
}

impl Refusal {
    /// 429 for the rate limit, which passes with time; 422 for the rest, which need another text.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Honeypot | Refusal::BadContent(_) | Refusal::TooManyLinks { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        }
    }

    /// What the form says, above the kept text.
    pub(crate) fn message(&self, what: &str) -> String {
        match self {
            Refusal::Honeypot => format!(
                "Nothing was {what}: the form's hidden \u{201c}{HONEYPOT_FIELD}\u{201d} field was filled in, as spam robots do. Leave it empty and send the form again."
            ),
            Refusal::RateLimited { retry_after } => format!(
                "Nothing was {what}: too many from your address in the last hour. Try again in {} (your text is kept below).",
                duration(*retry_after)
            ),
            Refusal::BadContent(found) => format!(
                "Nothing was {what}: the text adds \u{201c}{}\u{201d}, which this wiki's spam list refuses (pattern \u{201c}{}\u{201d}). Remove it and save again; your text is kept below.",
                found.matched, found.pattern
            ),
            Refusal::TooManyLinks { added, max } => format!(
                "Nothing was {what}: the text adds {added} external links, and visitors who are not logged in may add at most {max} per save. Remove some, or log in, and save again; your text is kept below."
            ),
        }
    }

    /// Adds `Retry-After` to a rate-limited answer.
    pub(crate) fn mark(&self, response: &mut gateway::Response) {
        if let Refusal::RateLimited { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
    }
}

/// `150` → "3 minutes", `20` → "20 seconds": rounded up, so waiting that long is enough.
fn duration(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

impl Wiki {
    /// Judges who sends a save, before its text costs anything: the honeypot, then for visitors who
    /// are not logged in the rate limit (which counts this attempt).
    pub(crate) fn judge_save_sender(
        &self,
        exchange: &Exchange,
        honeypot: bool,
    ) -> Result<Option<Refusal>, WikiError> {
        let per_hour = if exchange.viewer.is_known() {
            0
        } else {
            self.settings.spam.anonymous_saves_per_hour
        };
        self.judge_sender(exchange, honeypot, "anonymous-save", per_hour)
    }

    /// Judges the text of a save to `name`, once it was rendered within the bounds as `html`: the
    /// bad-content lists, then for visitors who are not logged in the link limit (the new text's
    /// links read from that HTML, not rendered again).
    pub(crate) fn judge_save_text(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
        html: &str,
    ) -> Result<Option<Refusal>, WikiError> {
        let old = self
            .storage
            .current(name.as_str())?
            .map(|revision| revision.text)
            .unwrap_or_default();
        if let Some(found) = self.bad_content()?.added_match(&old, text) {
            tracing::info!(address = %exchange.viewer.address, page = %name, pattern = %found.pattern, "a save matched the spam list");
            return Ok(Some(Refusal::BadContent(found)));
        }
        if !exchange.viewer.is_known() {
            let max = self.settings.spam.anonymous_max_links;
            // An old text over the render bounds (stored before there were bounds) counts as
            // having no links.
            let before =
                markup::external_links(&old, name.as_str(), &self.markup).unwrap_or_default();
            let after = markup::external_hrefs(html);
            let added = added_links(&before, &after);
            if added > max {
                return Ok(Some(Refusal::TooManyLinks { added, max }));
            }
        }
        Ok(None)
    }

    /// Judges a registration: the honeypot, then the rate limit (which counts this attempt).
    pub(crate) fn judge_registration(
        &self,
        exchange: &Exchange,
        honeypot: bool,
    ) -> Result<Option<Refusal>, WikiError> {
        let per_hour = self.settings.spam.registrations_per_hour;
        self.judge_sender(exchange, honeypot, "registration", per_hour)
    }

    /// The honeypot, then the per-address rate limit on `kind` (`per_hour` 0: none).
    fn judge_sender(
        &self,
        exchange: &Exchange,
        honeypot: bool,
        kind: &str,
        per_hour: u64,
    ) -> Result<Option<Refusal>, WikiError> {
        if honeypot {
            return Ok(Some(Refusal::Honeypot));
        }
        self.rate_limit(exchange, kind, per_hour)
    }

    /// Counts one `kind` action from the requester's address, unless `per_hour` of them (0: no limit)
    /// were counted in the last hour.
    fn rate_limit(
        &self,
        exchange: &Exchange,
        kind: &str,
        per_hour: u64,
    ) -> Result<Option<Refusal>, WikiError> {
        if per_hour == 0 {
            return Ok(None);
        }
        let outcome = self.storage.take_rate_slot(&RateLimit {
            kind,
            key: &exchange.viewer.address,
            max: per_hour,
            window_secs: HOUR_SECS,
            time: None,
        })?;
        match outcome {
            RateOutcome::Allowed => Ok(None),
            RateOutcome::Limited { retry_after } => {
                tracing::warn!(address = %exchange.viewer.address, kind, "rate limited");
                Ok(Some(Refusal::RateLimited { retry_after }))
            }
        }
    }

    /// Both lists compiled: quire.toml's (checked at start-up) and the admins' (checked when saved;
    /// a pattern this build cannot compile is logged and skipped, not a failed save).
    pub(crate) fn bad_content(&self) -> Result<BadContent, WikiError> {
        let stored = self
            .storage
            .bad_content()?
            .map(|list| list.text)
            .unwrap_or_default();
        let from_file = self
            .settings
            .spam
            .bad_content
            .iter()
            .enumerate()
            .map(|(n, pattern)| (n + 1, pattern.as_str()));
        let (content, errors) = BadContent::lenient(from_file.chain(list_lines(&stored)));
        for error in errors {
            tracing::warn!(%error, "a bad-content pattern does not compile; it is skipped");
        }
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_why_and_what_to_do() {
        let bad = Refusal::BadContent(BadMatch {
            pattern: "casino".into(),
            matched: "Casino".into(),
        });
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.message("saved").contains("\u{201c}Casino\u{201d}"));
        let limited = Refusal::RateLimited { retry_after: 150 };
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.message("saved").contains("3 minutes"));
        let links = Refusal::TooManyLinks { added: 7, max: 5 };
        assert!(links.message("saved").contains("7 external links"));
        assert!(Refusal::Honeypot.message("saved").contains(HONEYPOT_FIELD));
        assert_eq!(duration(20), "20 seconds");
    }
}
