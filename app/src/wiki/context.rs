//! What templates are given: the layout every page shares, and page links.
//!
//! The keys here are the contract with `themes`' templates, which render
//! with strict undefined-variable checks: a key missing here is a test
//! failure, not a blank on a page.

use serde::Serialize;

use super::page_name::PageName;
use super::theme::ThemeInfo;
use super::urls::Urls;
use super::{Exchange, Wiki};

/// Keys every template gets.
#[derive(Debug, Serialize)]
pub struct Layout {
    pub site_name: String,
    pub title: String,
    pub static_url: String,
    pub nav: Nav,
    pub page: Option<PageLinks>,
    /// The theme and colour mode this page is drawn in (`wiki::theme`).
    pub theme: ThemeInfo,
}

/// The site navigation.
#[derive(Debug, Serialize)]
pub struct Nav {
    pub front_url: String,
    pub recent_url: String,
    pub help_url: String,
    pub search_url: String,
    /// Page names matching a prefix, as JSON, for the search box's suggestions.
    pub suggest_url: String,
}

/// A page's name and the URLs of what can be done with it.
#[derive(Debug, Serialize)]
pub struct PageLinks {
    pub name: String,
    pub view_url: String,
    pub edit_url: String,
    pub history_url: String,
    pub raw_url: String,
    pub parents: Vec<Crumb>,
}

/// One step of a subpage's breadcrumb trail.
#[derive(Debug, Serialize)]
pub struct Crumb {
    pub name: String,
    pub url: String,
}

impl PageLinks {
    pub fn new(urls: &Urls, name: &PageName) -> Self {
        PageLinks {
            name: name.to_string(),
            view_url: urls.page(name),
            edit_url: urls.action("edit", name),
            history_url: urls.action("history", name),
            raw_url: urls.action("raw", name),
            parents: name
                .parents()
                .iter()
                .map(|parent| Crumb {
                    name: parent.to_string(),
                    url: urls.page(parent),
                })
                .collect(),
        }
    }
}

impl Wiki {
    /// The layout for a page titled `title`, about `page` if any.
    pub(super) fn layout(
        &self,
        exchange: &Exchange,
        title: &str,
        page: Option<&PageName>,
    ) -> Layout {
        let urls = &exchange.urls;
        Layout {
            site_name: self.settings.site_name.clone(),
            title: title.to_owned(),
            static_url: urls.static_base(),
            nav: Nav {
                front_url: urls.root(),
                recent_url: urls.special("recent"),
                help_url: urls.page(&self.settings.help_page),
                search_url: urls.special("search"),
                suggest_url: urls.special("suggest"),
            },
            page: page.map(|name| PageLinks::new(urls, name)),
            theme: self.theme_info(exchange),
        }
    }
}
