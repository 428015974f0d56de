//! `/+index`: every page the reader may read, by name. A list grouped by the first letter after the
//! prefix, or a tree of subpages (`?view=tree`); narrowed to names starting with `?prefix=` (a
//! page's subpages with `Team/`), and paged by a cursor (`?after=`, the last name shown; `?count=`
//! names a page), so a page of the index costs one range scan of storage's name index whatever the
//! wiki's size.
//!
//! It is a listing: pages the reader may not read leave no trace, and it shows no count (a count
//! would tell how many pages are hidden). The letter bar is the same for everyone for that reason.

use gateway::{HttpError, Response};
use http::StatusCode;
use minijinja::Value;
use serde::Serialize;

use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::name_pages::page_by_name;
use crate::wiki::plumbing::params::filter_param;
use crate::wiki::plumbing::rows::Row;
use crate::wiki::plumbing::urls::{IndexQuery, Urls};
use crate::wiki::{Exchange, Wiki, WikiError};

/// Names one page of the index shows, unless `?count=` says otherwise.
const PER_PAGE: usize = 200;

/// The most names one page may show.
const MAX_PER_PAGE: usize = 1000;

/// The letters of the bar above the index: the same for every reader and every wiki.
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[derive(Serialize)]
struct IndexView {
    #[serde(flatten)]
    layout: Layout,
    prefix: String,
    tree: bool,
    /// No page to show.
    empty: bool,
    /// The list: runs of names with the same first letter after the prefix, each a row of
    /// `letter` and `pages` (rows of `label` and `url`), made as template values (`rows`).
    groups: Value,
    /// The tree: the top level under the prefix, rows of `label`, `url`, `is_page` and `children`.
    nodes: Value,
    letters: Vec<Link>,
    /// The index one level up (`Team/` from `Team/Notes/`), when narrowed.
    up_url: Option<String>,
    /// The same names as a list, or as a tree.
    list_url: String,
    tree_url: String,
    /// Where the prefix form goes.
    form_url: String,
    next_url: Option<String>,
    first_url: Option<String>,
}

/// A run of the list: its letter and a row for each of its pages.
struct Group {
    letter: String,
    pages: Vec<Value>,
}

impl Group {
    fn into_value(self) -> Value {
        Row::value(
            &["letter", "pages"],
            [Value::from(self.letter), Value::from(self.pages)],
        )
    }
}

#[derive(Serialize)]
struct Link {
    label: String,
    url: String,
}

/// A segment of the subpage tree: a page, or only the parent of pages (its subtree's index).
struct Node {
    label: String,
    url: String,
    is_page: bool,
    children: Vec<Node>,
}

impl Node {
    fn into_value(self) -> Value {
        Row::value(
            &["label", "url", "is_page", "children"],
            [
                Value::from(self.label),
                Value::from(self.url),
                Value::from(self.is_page),
                nodes_value(self.children),
            ],
        )
    }
}

fn nodes_value(nodes: Vec<Node>) -> Value {
    Value::from_iter(nodes.into_iter().map(Node::into_value))
}

impl Wiki {
    pub(crate) fn page_index(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let params = exchange.query()?;
        let tree = match params.get("view") {
            None | Some("" | "list") => false,
            Some("tree") => true,
            Some(_) => {
                return Err(HttpError::bad_request(
                    "\u{201c}view\u{201d} is \u{201c}list\u{201d} or \u{201c}tree\u{201d}.",
                )
                .into())
            }
        };
        let count = count_param(&params)?;
        let query = IndexQuery {
            prefix: filter_param(params.get("prefix"), "prefix")?.unwrap_or_default(),
            after: filter_param(params.get("after"), "after")?,
            tree,
            count,
        };
        let (names, next) = self.readable_names(exchange, &query)?;
        let urls = &exchange.urls;
        let prefix = query.prefix.as_str();
        let with = |prefix: &str, after: Option<String>, tree: bool| {
            urls.index(&IndexQuery {
                prefix: prefix.to_owned(),
                after,
                tree,
                count,
            })
        };
        let (groups, nodes) = if tree {
            (Vec::new(), subpage_tree(urls, prefix, &names))
        } else {
            (by_first_letter(urls, prefix, &names), Vec::new())
        };
        let groups = Value::from_iter(groups.into_iter().map(Group::into_value));
        let nodes = nodes_value(nodes);
        let view = IndexView {
            layout: self.layout(exchange, "All pages", None),
            // The first letter within the current level (`Team/B` from `Team/A` or `Team/`), never
            // one more letter on the prefix: that would make every prefix a link away, an endless
            // space for crawlers.
            letters: LETTERS
                .chars()
                .map(|letter| Link {
                    label: letter.to_string(),
                    url: with(&format!("{}{letter}", level(prefix)), None, tree),
                })
                .collect(),
            up_url: (!prefix.is_empty()).then(|| with(parent_prefix(prefix), None, tree)),
            list_url: with(prefix, None, false),
            tree_url: with(prefix, None, true),
            form_url: with("", None, tree),
            empty: names.is_empty() && next.is_none(),
            next_url: next.map(|after| with(prefix, Some(after), tree)),
            first_url: query.after.is_some().then(|| with(prefix, None, tree)),
            prefix: query.prefix.clone(),
            tree,
            groups,
            nodes,
        };
        self.html(StatusCode::OK, "index.html", view)
    }

    /// Up to a page of names under `query` that the viewer may read, and the cursor of the page
    /// after (`None`: this is the last), reading a bounded number of names (`name_pages`).
    pub(crate) fn readable_names(
        &self,
        exchange: &Exchange,
        query: &IndexQuery,
    ) -> Result<(Vec<String>, Option<String>), WikiError> {
        let access = self.access(&exchange.viewer)?;
        page_by_name(
            query.after.clone(),
            query.count.unwrap_or(PER_PAGE),
            |after, limit| {
                Ok(self
                    .storage
                    .page_names_from(&query.prefix, after, limit)?
                    .into_iter()
                    .map(|name| (name, true))
                    .collect())
            },
            |name| access.can_read(name),
        )
    }
}

/// `?count=`: how many names a page of the index shows, when not the default (1 to
/// [`MAX_PER_PAGE`]).
pub(crate) fn count_param(params: &gateway::form::Form) -> Result<Option<usize>, WikiError> {
    match params.get("count") {
        None | Some("") => Ok(None),
        Some(count) => match count.parse::<usize>() {
            Ok(count @ 1..=MAX_PER_PAGE) => Ok(Some(count)),
            _ => Err(HttpError::bad_request(format!(
                "\u{201c}count\u{201d} is a number of pages from 1 to {MAX_PER_PAGE}."
            ))
            .into()),
        },
    }
}

/// The prefix one level up: `Team/` from `Team/Notes/` or `Team/No`, nothing from `Team/` or `Te`.
fn parent_prefix(prefix: &str) -> &str {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    trimmed.rfind('/').map_or("", |slash| &prefix[..=slash])
}

/// The level a prefix is in: up to its last `/` (`Team/` from `Team/No` and from `Team/`).
fn level(prefix: &str) -> &str {
    prefix.rfind('/').map_or("", |slash| &prefix[..=slash])
}

/// What a name shows under `prefix`: the rest of it (the whole name without a prefix).
fn rest<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// `names` (sorted) in runs of the same first character after `prefix`, each page a row of
/// `label` and `url`. The one place a row of the index is drawn in Rust, so it allocates only the
/// row and its two strings: the URL is written into one buffer for all rows, and the letter made
/// only when a run starts.
fn by_first_letter(urls: &Urls, prefix: &str, names: &[String]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut url = String::new();
    for name in names {
        let first = rest(name, prefix).chars().next();
        let letter_of = |first: Option<char>| first.map(char::to_uppercase);
        let same_run = groups.last().is_some_and(|group| match letter_of(first) {
            Some(upper) => group.letter.chars().eq(upper),
            None => group.letter.is_empty(),
        });
        if !same_run {
            groups.push(Group {
                letter: letter_of(first).map(String::from_iter).unwrap_or_default(),
                pages: Vec::new(),
            });
        }
        url.clear();
        urls.push_page_text(&mut url, name);
        let link = Row::value(
            &["label", "url"],
            [Value::from(name.as_str()), Value::from(url.as_str())],
        );
        if let Some(group) = groups.last_mut() {
            group.pages.push(link);
        }
    }
    groups
}

/// `names` nested by their `/`-separated segments after `prefix`. A segment that is only the
/// parent of pages (no page of that name, or one on another page of the index) links to its own
/// subtree's index.
fn subpage_tree(urls: &Urls, prefix: &str, names: &[String]) -> Vec<Node> {
    let mut top: Vec<Node> = Vec::new();
    for name in names {
        let mut level = &mut top;
        let mut path = prefix.to_owned();
        let segments: Vec<&str> = rest(name, prefix).split('/').collect();
        for (depth, segment) in segments.iter().enumerate() {
            path.push_str(segment);
            let is_page = depth + 1 == segments.len();
            let at = match level.iter().position(|node| node.label == *segment) {
                Some(at) => at,
                None => {
                    level.push(Node {
                        label: (*segment).to_owned(),
                        url: urls.index(&IndexQuery {
                            prefix: format!("{path}/"),
                            after: None,
                            tree: true,
                            count: None,
                        }),
                        is_page: false,
                        children: Vec::new(),
                    });
                    level.len() - 1
                }
            };
            let node = &mut level[at];
            if is_page {
                node.is_page = true;
                node.url = urls.page_text(name);
            }
            path.push('/');
            level = &mut node.children;
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn the_letters_stay_on_the_level_of_the_prefix() {
        assert_eq!(level("Team/No"), "Team/");
        assert_eq!(level("Team/"), "Team/");
        assert_eq!(level("Te"), "");
        assert_eq!(level(""), "");
    }

    #[test]
    fn the_parent_prefix_is_one_segment_up() {
        assert_eq!(parent_prefix("Team/Notes/"), "Team/");
        assert_eq!(parent_prefix("Team/No"), "Team/");
        assert_eq!(parent_prefix("Team/"), "");
        assert_eq!(parent_prefix("Te"), "");
    }

    #[test]
    fn the_list_groups_runs_of_a_first_letter_after_the_prefix() {
        let urls = Urls::new("/wiki");
        let groups = by_first_letter(
            &urls,
            "Team/",
            &names(&["Team/Alpha", "Team/apple", "Team/Beta", "Team/Émile"]),
        );
        let letters: Vec<&str> = groups.iter().map(|group| group.letter.as_str()).collect();
        assert_eq!(letters, ["A", "B", "É"]);
        assert_eq!(groups[0].pages.len(), 2);
        let beta = &groups[1].pages[0];
        assert_eq!(beta.get_attr("label").unwrap().as_str(), Some("Team/Beta"));
        assert_eq!(
            beta.get_attr("url").unwrap().as_str(),
            Some("/wiki/Team/Beta")
        );
    }

    #[test]
    fn the_tree_nests_subpages_and_links_parents_that_are_not_pages_to_their_subtree() {
        let urls = Urls::new("");
        let tree = subpage_tree(
            &urls,
            "",
            &names(&[
                "Team",
                "Team Room",
                "Team/Notes",
                "Team/Notes/2026",
                "Zoo/Keeper",
            ]),
        );
        let labels: Vec<&str> = tree.iter().map(|node| node.label.as_str()).collect();
        assert_eq!(labels, ["Team", "Team Room", "Zoo"]);
        let team = &tree[0];
        assert!(team.is_page);
        assert_eq!(team.url, "/Team");
        assert_eq!(team.children[0].label, "Notes");
        assert_eq!(team.children[0].children[0].url, "/Team/Notes/2026");
        let zoo = &tree[2];
        assert!(!zoo.is_page);
        assert_eq!(zoo.url, "/+index?prefix=Zoo%2F&view=tree");
        assert_eq!(zoo.children[0].url, "/Zoo/Keeper");
    }
}
