//! The URL space: `/{Page}` views a page, everything else is `/+verb/...`.

use gateway::HttpError;

use super::feeds::FeedFormat;
use super::page_name::PageName;

/// What a request path asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`: the front page.
    Root,
    /// `/{Page}`.
    View(PageName),
    /// `/+edit/{Page}`.
    Edit(PageName),
    /// `/+raw/{Page}`.
    Raw(PageName),
    /// `/+history/{Page}`.
    History(PageName),
    /// `/+diff/{Page}`.
    Diff(PageName),
    /// `/+revert/{Page}?rev=N` (POST).
    Revert(PageName),
    /// `/+blame/{Page}`: who last changed each line.
    Blame(PageName),
    /// `/+info/{Page}`: revisions, authors, size, dates.
    Info(PageName),
    /// `/+rename/{Page}`: the form (GET) and the rename (POST).
    Rename(PageName),
    /// `/+delete/{Page}`: the confirmation (GET) and the deletion (POST).
    Delete(PageName),
    /// `/+undelete/{Page}`: the confirmation (GET) and the undeletion (POST).
    Undelete(PageName),
    /// `/+recent`.
    Recent,
    /// `/+contributions/{user}`: one person's changes.
    Contributions(String),
    /// `/+feed/{atom|rss}`, or with `/{Page}` one page's changes.
    Feed(FeedFormat, Option<PageName>),
    /// `/+orphans`: pages nothing links to.
    Orphans,
    /// `/+wanted`: missing pages something links to.
    Wanted,
    /// `/+search?q=…`.
    Search,
    /// `/+suggest?q=…`.
    Suggest,
    /// `/+static/{path}`.
    Static(String),
    /// `/+login`: the form (GET), logging in (POST).
    Login,
    /// `/+logout` (POST).
    Logout,
    /// `/+register`: creating an account.
    Register,
    /// `/+prefs`: the reader's preferences.
    Prefs,
    /// `/+admin`: accounts, settings, failed logins (admins only).
    Admin,
}

impl Route {
    /// Parses the path below the mount. The path arrives as raw bytes; one
    /// that is not UTF-8 cannot name a page and is refused with 400.
    pub fn parse(path: &[u8]) -> Result<Route, HttpError> {
        let path = std::str::from_utf8(path).map_err(|_| {
            HttpError::bad_request("This address is not valid UTF-8, so it cannot name a page.")
        })?;
        let path = path.strip_prefix('/').unwrap_or(path);
        if path.is_empty() {
            return Ok(Route::Root);
        }
        let Some(action) = path.strip_prefix('+') else {
            return page(path).map(Route::View);
        };
        let (verb, rest) = action.split_once('/').unwrap_or((action, ""));
        match verb {
            "edit" => page(rest).map(Route::Edit),
            "raw" => page(rest).map(Route::Raw),
            "history" => page(rest).map(Route::History),
            "diff" => page(rest).map(Route::Diff),
            "revert" => page(rest).map(Route::Revert),
            "blame" => page(rest).map(Route::Blame),
            "info" => page(rest).map(Route::Info),
            "rename" => page(rest).map(Route::Rename),
            "delete" => page(rest).map(Route::Delete),
            "undelete" => page(rest).map(Route::Undelete),
            "recent" if rest.is_empty() => Ok(Route::Recent),
            "contributions" if !rest.is_empty() => Ok(Route::Contributions(rest.to_owned())),
            "feed" => feed(rest),
            "orphans" if rest.is_empty() => Ok(Route::Orphans),
            "wanted" if rest.is_empty() => Ok(Route::Wanted),
            "search" if rest.is_empty() => Ok(Route::Search),
            "suggest" if rest.is_empty() => Ok(Route::Suggest),
            "static" if !rest.is_empty() => Ok(Route::Static(rest.to_owned())),
            "login" if rest.is_empty() => Ok(Route::Login),
            "logout" if rest.is_empty() => Ok(Route::Logout),
            "register" if rest.is_empty() => Ok(Route::Register),
            "prefs" if rest.is_empty() => Ok(Route::Prefs),
            "admin" if rest.is_empty() => Ok(Route::Admin),
            _ => Err(HttpError::not_found(format!(
                "There is no wiki action called \u{201c}+{verb}\u{201d}."
            ))),
        }
    }
}

/// `atom`, `rss`, `atom/{Page}` or `rss/{Page}`.
fn feed(rest: &str) -> Result<Route, HttpError> {
    let (format, page_path) = match rest.split_once('/') {
        Some((format, page_path)) => (format, Some(page_path)),
        None => (rest, None),
    };
    let format = match format {
        "atom" => FeedFormat::Atom,
        "rss" => FeedFormat::Rss,
        _ => {
            return Err(HttpError::not_found(
                "Feeds come as /+feed/atom or /+feed/rss (add /PageName for one page).",
            ))
        }
    };
    let page = page_path.map(page).transpose()?;
    Ok(Route::Feed(format, page))
}

fn page(text: &str) -> Result<PageName, HttpError> {
    PageName::parse(text).map_err(|err| {
        HttpError::bad_request(format!(
            "\u{201c}{text}\u{201d} is not a valid page name: {err}."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> PageName {
        PageName::parse(text).unwrap()
    }

    #[test]
    fn parses_pages_and_actions() {
        assert_eq!(Route::parse(b"/").unwrap(), Route::Root);
        assert_eq!(Route::parse(b"").unwrap(), Route::Root);
        assert_eq!(Route::parse(b"/A/B").unwrap(), Route::View(name("A/B")));
        assert_eq!(
            Route::parse("/Café".as_bytes()).unwrap(),
            Route::View(name("Café"))
        );
        assert_eq!(
            Route::parse(b"/+edit/A/B").unwrap(),
            Route::Edit(name("A/B"))
        );
        assert_eq!(Route::parse(b"/+raw/A").unwrap(), Route::Raw(name("A")));
        assert_eq!(
            Route::parse(b"/+history/A").unwrap(),
            Route::History(name("A"))
        );
        assert_eq!(Route::parse(b"/+diff/A").unwrap(), Route::Diff(name("A")));
        assert_eq!(
            Route::parse(b"/+revert/A").unwrap(),
            Route::Revert(name("A"))
        );
        assert_eq!(Route::parse(b"/+blame/A").unwrap(), Route::Blame(name("A")));
        assert_eq!(Route::parse(b"/+info/A").unwrap(), Route::Info(name("A")));
        assert_eq!(
            Route::parse(b"/+rename/A").unwrap(),
            Route::Rename(name("A"))
        );
        assert_eq!(
            Route::parse(b"/+delete/A").unwrap(),
            Route::Delete(name("A"))
        );
        assert_eq!(
            Route::parse(b"/+undelete/A").unwrap(),
            Route::Undelete(name("A"))
        );
        assert_eq!(Route::parse(b"/+recent").unwrap(), Route::Recent);
        assert_eq!(
            Route::parse(b"/+contributions/ann").unwrap(),
            Route::Contributions("ann".into())
        );
        assert_eq!(
            Route::parse(b"/+feed/atom").unwrap(),
            Route::Feed(FeedFormat::Atom, None)
        );
        assert_eq!(
            Route::parse(b"/+feed/rss/A/B").unwrap(),
            Route::Feed(FeedFormat::Rss, Some(name("A/B")))
        );
        assert_eq!(Route::parse(b"/+orphans").unwrap(), Route::Orphans);
        assert_eq!(Route::parse(b"/+wanted").unwrap(), Route::Wanted);
        assert_eq!(Route::parse(b"/+search").unwrap(), Route::Search);
        assert_eq!(Route::parse(b"/+suggest").unwrap(), Route::Suggest);
        assert_eq!(Route::parse(b"/+login").unwrap(), Route::Login);
        assert_eq!(Route::parse(b"/+logout").unwrap(), Route::Logout);
        assert_eq!(Route::parse(b"/+register").unwrap(), Route::Register);
        assert_eq!(Route::parse(b"/+prefs").unwrap(), Route::Prefs);
        assert_eq!(Route::parse(b"/+admin").unwrap(), Route::Admin);
        assert_eq!(Route::parse(b"/+admin/x").unwrap_err().status(), 404);
        assert_eq!(
            Route::parse(b"/+static/quire.css").unwrap(),
            Route::Static("quire.css".into())
        );
    }

    #[test]
    fn refuses_bad_paths_with_the_right_status() {
        assert_eq!(Route::parse(b"/\xFF").unwrap_err().status(), 400);
        assert_eq!(Route::parse(b"/+nope/A").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/+edit/").unwrap_err().status(), 400);
        assert_eq!(Route::parse(b"/+feed/json").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/+contributions").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/A//B").unwrap_err().status(), 400);
    }
}
