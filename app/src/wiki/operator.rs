//! What operators and crawlers ask of a wiki rather than readers: `/robots.txt` (what crawlers may
//! fetch) and `/+healthz` (whether the wiki can serve, for a load balancer or a monitor).
//!
//! `/+healthz` answers 200 when the database answers and 503 when it does not, with a small JSON
//! body: the database's state and how many revisions the search index lags behind (search
//! catches up by itself; a lag that keeps growing means it cannot). It says nothing of any page.

use gateway::Response;
use http::StatusCode;
use serde::Serialize;

use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::{Exchange, Wiki, WikiError};

/// The body of `/+healthz`.
#[derive(Serialize)]
struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    status: &'static str,
    /// `ok` or `unavailable`.
    database: &'static str,
    /// Revisions saved but not yet searchable; `null` when either side could not say.
    index_lag: Option<u64>,
}

impl Wiki {
    /// `GET /robots.txt`: `robots_txt` from `quire.toml`, else a rule that keeps crawlers off
    /// every action address (`/+…` under the mount) and lets them index pages.
    pub(crate) fn robots(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let text = match &self.settings.robots_txt {
            Some(text) => format!("{}\n", text.trim_end()),
            None => format!(
                "User-agent: *\nDisallow: {}\n",
                exchange.urls.actions_prefix()
            ),
        };
        Ok(typed_response(text, "text/plain; charset=utf-8"))
    }

    /// `GET /+healthz`.
    pub(crate) fn healthz(&self) -> Result<Response, WikiError> {
        let last = self.storage.last_revision_id();
        if let Err(err) = &last {
            tracing::error!(error = %err, "health check: the database does not answer");
        }
        let indexed = self.indexer.index().indexed_up_to();
        if let Err(err) = &indexed {
            tracing::warn!(error = %err, "health check: the search index does not answer");
        }
        let health = match (last, indexed) {
            (Ok(last), indexed) => Health {
                status: "ok",
                database: "ok",
                index_lag: indexed.ok().map(|indexed| last.saturating_sub(indexed)),
            },
            (Err(_), _) => Health {
                status: "unavailable",
                database: "unavailable",
                index_lag: None,
            },
        };
        let status = if health.database == "ok" {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let body = serde_json::to_vec(&health).map_err(gateway::HttpError::internal)?;
        let mut response = typed_response(body, "application/json");
        *response.status_mut() = status;
        Ok(response)
    }
}
