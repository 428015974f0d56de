//! The JSON API's URL space, `/+api/v1/…`: the part of [`Route`](super::routes::Route) after the
//! `api` verb. Each variant has its row in the route table ([`Route::row`](super::routes::Route::row)),
//! so the API's rights are stated where every other route's are.
//!
//! A page's name may hold `/`, so what follows it is read from the end: a path under `pages/`
//! ending in `/history`, `/revisions/{n}` or `/files/{name}` names that part of the page before
//! it. A page whose own name ends so (`Notes/history`) is reached by the HTML routes only; the
//! API documentation says so.

use gateway::HttpError;
use http::Method;

use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::routes::{page as page_name, FileRoute, Verb};

/// The version segment every API path starts with.
pub const API_VERSION: &str = "v1";

/// What every API path starts with, below the mount: `/+api/`.
pub fn path_prefix() -> String {
    format!("/+{}/", Verb::Api.as_str())
}

/// What an API path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    /// `GET pages/{Page}`: the current revision, text and HTML, and the page's files.
    Page(PageName),
    /// `PUT pages/{Page}`: a save. The same address as [`ApiRoute::Page`]
    /// ([`ApiRoute::for_method`]).
    SavePage(PageName),
    /// `GET pages/{Page}/history`: its revisions, newest first (`?before=`).
    History(PageName),
    /// `GET pages/{Page}/revisions/{n}`: one revision's text.
    Revision(PageName, u64),
    /// `GET pages/{Page}/files/{name}`: a file's bytes.
    File(FileRoute),
    /// `PUT pages/{Page}/files/{name}`: an upload, a new version. The same address as
    /// [`ApiRoute::File`].
    SaveFile(FileRoute),
    /// `GET recent?since=`: recent changes.
    Recent,
    /// `GET search?q=`: full-text search.
    Search,
    /// `GET index?prefix=`: page names.
    Index,
    /// `GET openapi.json`: the API's description.
    OpenApi,
}

/// Every kind of API path, as the OpenAPI document writes it (below `/+api/v1`): what the test
/// comparing the two holds against ([`ApiRoute::template`]).
pub const TEMPLATES: &[&str] = &[
    "/pages/{page}",
    "/pages/{page}/history",
    "/pages/{page}/revisions/{n}",
    "/pages/{page}/files/{name}",
    "/recent",
    "/search",
    "/index",
    "/openapi.json",
];

impl ApiRoute {
    /// Parses what follows `/+api/`.
    pub fn parse(rest: &str) -> Result<ApiRoute, HttpError> {
        let unknown = || {
            HttpError::not_found(format!(
                "There is no API address \u{201c}/+api/{rest}\u{201d}; the API is described at /+api/{API_VERSION}/openapi.json."
            ))
        };
        let Some(path) = rest
            .strip_prefix(API_VERSION)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return Err(unknown());
        };
        match path {
            "recent" => return Ok(ApiRoute::Recent),
            "search" => return Ok(ApiRoute::Search),
            "index" => return Ok(ApiRoute::Index),
            "openapi.json" => return Ok(ApiRoute::OpenApi),
            _ => {}
        }
        let Some(page_path) = path.strip_prefix("pages/") else {
            return Err(unknown());
        };
        if let Some(page) = page_path.strip_suffix("/history") {
            return Ok(ApiRoute::History(page_name(page)?));
        }
        if let Some((before, last)) = page_path.rsplit_once('/') {
            if let Some(page) = before.strip_suffix("/revisions") {
                if let Ok(n) = last.parse::<u64>() {
                    return Ok(ApiRoute::Revision(page_name(page)?, n));
                }
            }
            if let Some(page) = before.strip_suffix("/files") {
                let name = FileName::parse(last).map_err(|err| {
                    HttpError::not_found(format!(
                        "\u{201c}{last}\u{201d} is not a file name this wiki stores: {err}."
                    ))
                })?;
                return Ok(ApiRoute::File(FileRoute {
                    page: page_name(page)?,
                    name,
                }));
            }
        }
        Ok(ApiRoute::Page(page_name(page_path)?))
    }

    /// The route a request with `method` takes: a PUT to a page or a file is a save, which needs
    /// the write right where reading needs less.
    pub fn for_method(self, method: &Method) -> ApiRoute {
        match self {
            ApiRoute::Page(name) if method == Method::PUT => ApiRoute::SavePage(name),
            ApiRoute::File(file) if method == Method::PUT => ApiRoute::SaveFile(file),
            route => route,
        }
    }

    /// The path below the mount, percent-encoded.
    pub fn path(&self) -> String {
        use crate::wiki::plumbing::urls::{encode_page, encode_segment};
        let below = match self {
            ApiRoute::Page(name) | ApiRoute::SavePage(name) => {
                format!("pages/{}", encode_page(name.as_str()))
            }
            ApiRoute::History(name) => format!("pages/{}/history", encode_page(name.as_str())),
            ApiRoute::Revision(name, n) => {
                format!("pages/{}/revisions/{n}", encode_page(name.as_str()))
            }
            ApiRoute::File(file) | ApiRoute::SaveFile(file) => format!(
                "pages/{}/files/{}",
                encode_page(file.page.as_str()),
                encode_segment(file.name.as_str())
            ),
            ApiRoute::Recent => "recent".to_owned(),
            ApiRoute::Search => "search".to_owned(),
            ApiRoute::Index => "index".to_owned(),
            ApiRoute::OpenApi => "openapi.json".to_owned(),
        };
        format!("{}{API_VERSION}/{below}", path_prefix())
    }

    /// The path as the OpenAPI document writes it: one of [`TEMPLATES`].
    pub fn template(&self) -> &'static str {
        match self {
            ApiRoute::Page(_) | ApiRoute::SavePage(_) => TEMPLATES[0],
            ApiRoute::History(_) => TEMPLATES[1],
            ApiRoute::Revision(..) => TEMPLATES[2],
            ApiRoute::File(_) | ApiRoute::SaveFile(_) => TEMPLATES[3],
            ApiRoute::Recent => TEMPLATES[4],
            ApiRoute::Search => TEMPLATES[5],
            ApiRoute::Index => TEMPLATES[6],
            ApiRoute::OpenApi => TEMPLATES[7],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> PageName {
        PageName::parse(text).unwrap()
    }

    #[test]
    fn paths_read_back_and_parts_are_read_from_the_end() {
        let file = FileRoute {
            page: name("A/B"),
            name: FileName::parse("a b.png").unwrap(),
        };
        for route in [
            ApiRoute::Page(name("A/B c")),
            ApiRoute::History(name("A/B")),
            ApiRoute::Revision(name("A/B"), 3),
            ApiRoute::File(file),
            ApiRoute::Recent,
            ApiRoute::Search,
            ApiRoute::Index,
            ApiRoute::OpenApi,
        ] {
            let path = route.path();
            let decoded: Vec<u8> = percent_encoding::percent_decode_str(&path).collect();
            let decoded = String::from_utf8(decoded).unwrap();
            let rest = decoded.strip_prefix("/+api/").unwrap();
            assert_eq!(ApiRoute::parse(rest).unwrap(), route, "{path}");
            assert!(TEMPLATES.contains(&route.template()));
        }
        // A revisions segment not followed by a number is part of the page's name.
        assert_eq!(
            ApiRoute::parse("v1/pages/A/revisions/x").unwrap(),
            ApiRoute::Page(name("A/revisions/x"))
        );
        assert_eq!(ApiRoute::parse("v2/recent").unwrap_err().status(), 404);
        assert_eq!(ApiRoute::parse("v1/nope").unwrap_err().status(), 404);
        assert_eq!(ApiRoute::parse("v1/pages/").unwrap_err().status(), 400);
        assert_eq!(
            ApiRoute::Page(name("A")).for_method(&Method::PUT),
            ApiRoute::SavePage(name("A"))
        );
    }
}
