//! `/+blame/{Page}`: each line of the current text with the revision, author and date that last
//! changed it. Storage works the attribution out; this draws it, runs of lines from one revision
//! sharing one label.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;

use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct BlameView {
    #[serde(flatten)]
    layout: Layout,
    lines: Vec<BlameRow>,
}

#[derive(Serialize)]
struct BlameRow {
    no: usize,
    text: String,
    rev: u64,
    author: String,
    time: i64,
    /// The revision's view, and its diff against the one before (its change).
    rev_url: String,
    diff_url: Option<String>,
    /// Whether this line starts a run of lines from one revision (the label is shown once per run).
    starts_run: bool,
}

impl Wiki {
    pub(crate) fn blame(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let Some(lines) = self.storage.blame(name.as_str())? else {
            return Err(HttpError::not_found(format!(
                "There is no page called {name}, so there is nothing to attribute."
            ))
            .into());
        };
        let urls = &exchange.urls;
        let mut previous_rev = None;
        let lines = lines
            .into_iter()
            .enumerate()
            .map(|(index, line)| {
                let starts_run = previous_rev != Some(line.rev);
                previous_rev = Some(line.rev);
                BlameRow {
                    no: index + 1,
                    rev_url: urls.page_revision(name, line.rev),
                    diff_url: (line.rev > 1).then(|| urls.diff(name, line.rev - 1, line.rev)),
                    starts_run,
                    text: line.text.trim_end_matches(['\n', '\r']).to_owned(),
                    rev: line.rev,
                    author: line.author,
                    time: line.time,
                }
            })
            .collect();
        let view = BlameView {
            layout: self.layout(exchange, &format!("Blame of {name}"), Some(name)),
            lines,
        };
        self.html(StatusCode::OK, "blame.html", view)
    }
}
